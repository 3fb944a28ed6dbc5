/**
 * The optional native addon (native/urb_native.cc, built by `npm install` with node-gyp): file
 * mappings as SharedArrayBuffers and futex waits and wakes on their words. Loaded on first use;
 * only file rings need it, so a missing addon is an error of the file-ring calls alone, saying why
 * it did not load and how to build it.
 *
 * `URB_NATIVE_ADDON=/path/to/urb_native.node` loads the addon from another place (a build for
 * another Node, or a test of the missing-addon path).
 */
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { NativeAddonError } from "../errors.js";

/** Result of a futex wait: the word changed ("ok"), it did not hold the value to begin with, the time ran out, or the wait was cancelled. */
export type FutexWaitResult = "ok" | "not-equal" | "timed-out" | "cancelled";

/** What the addon exports (see native/urb_native.cc). */
export interface NativeAddon {
  /** True where futex waits exist (Linux); elsewhere waits return "not-equal" at once. */
  readonly futex: boolean;
  /** The first `length` bytes of the open file `fd`, mapped shared, as a SharedArrayBuffer (unmapped when the last one is collected). */
  mapShared(fd: number, length: number): SharedArrayBuffer;
  /** Block while the i32 at `byteOffset` holds `value` (shared futex). */
  futexWait(buffer: SharedArrayBuffer, byteOffset: number, value: number, timeoutMs: number): FutexWaitResult;
  /** The same on a thread of the addon; `done` runs on this thread's event loop. Returns an id for {@link NativeAddon.futexCancel}. */
  futexWaitAsync(buffer: SharedArrayBuffer, byteOffset: number, value: number, timeoutMs: number, done: (result: FutexWaitResult) => void): number;
  /** End an async wait early (its `done` gets "cancelled", unless it finished already). */
  futexCancel(id: number): void;
  /** Wake every waiter on the i32 at `byteOffset`, in every process. Returns how many woke. */
  futexWake(buffer: SharedArrayBuffer, byteOffset: number): number;
  /** The size in bytes of the open file `fd` (an fstat without a Stats object). Missing from addons built before it existed. */
  fileSize?(fd: number): number;
}

const DEFAULT_PATH = fileURLToPath(new URL("../../../build/Release/urb_native.node", import.meta.url));

let loaded: NativeAddon | NativeAddonError | undefined;

function load(): NativeAddon | NativeAddonError {
  const path = process.env["URB_NATIVE_ADDON"] || DEFAULT_PATH;
  try {
    const addon = createRequire(import.meta.url)(path) as NativeAddon;
    if (typeof addon.mapShared !== "function" || typeof addon.futexWake !== "function") {
      throw new TypeError(`${path} is not the unified-ring-buffer addon (no mapShared/futexWake)`);
    }
    return addon;
  } catch (e) {
    const why = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return new NativeAddonError(
      `Cannot use file rings: the native addon did not load from ${path} (${why}). ` +
        "Build it with `npm rebuild unified-ring-buffer` (in a checkout of the package: `npm run build:native`); " +
        "building needs python3, make and a C++ compiler (g++ or clang++).",
      { cause: e },
    );
  }
}

/** The addon, or a {@link NativeAddonError} thrown that says why it is missing and how to build it. */
export function nativeAddon(): NativeAddon {
  loaded ??= load();
  if (loaded instanceof NativeAddonError) throw loaded;
  return loaded;
}

/**
 * Whether the addon loads (file rings work).
 *
 * @example
 * ```ts
 * import { nativeAddonAvailable, createFileRing } from "unified-ring-buffer/node";
 * import { createRing } from "unified-ring-buffer";
 * const ring = nativeAddonAvailable() ? createFileRing("/dev/shm/app.urb") : createRing();
 * ```
 */
export function nativeAddonAvailable(): boolean {
  loaded ??= load();
  return !(loaded instanceof NativeAddonError);
}
