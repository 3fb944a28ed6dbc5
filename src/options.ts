/**
 * Checking option objects of the public API: an unknown key (`createRing({ lane: 4 })`, a typo for
 * `lanes`) is an error, never silently ignored. Called once per call that takes options, never on a
 * write path.
 */

/**
 * The keys of an options interface, complete by construction: a key added to `T` and missing here,
 * or listed here and not in `T`, is a compile error.
 */
export function optionKeys<T>(keys: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(keys));
}

/**
 * Throws a TypeError when `options` is not an object (undefined is fine: no options) or has a key
 * that is not in `known`. `what` starts the message: "Cannot create ring".
 *
 * @example
 * ```ts
 * checkOptions("Cannot create ring", { lane: 4 }, ["lanes", "sharedLanes"]);
 * // TypeError: Cannot create ring: unknown option "lane" (did you mean "lanes"?); the options are lanes, sharedLanes
 * ```
 */
export function checkOptions(what: string, options: unknown, known: readonly string[]): void {
  if (options === undefined) return;
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, received ${options === null ? "null" : Array.isArray(options) ? "an array" : typeof options}`);
  }
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    const near = known.find((k) => k.toLowerCase().startsWith(key.toLowerCase()) || key.toLowerCase().startsWith(k.toLowerCase()));
    throw new TypeError(
      `${what}: unknown option ${JSON.stringify(key)}${near === undefined ? "" : ` (did you mean ${JSON.stringify(near)}?)`}; ` +
        `the options are ${known.length > 0 ? known.join(", ") : "none"}`,
    );
  }
}
