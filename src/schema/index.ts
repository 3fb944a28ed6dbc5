/** Typed, self-describing events (issue 4): the public API of src/schema/. */
export { t, SchemaError, buildSchema } from "./types.js";
export type { FieldType, FieldTypeName, FieldsSpec, FieldSchema, EventSchema, WriteValue, WriteValues, ReadValue, ReadValues } from "./types.js";
export { createEventType, EventView } from "./codec.js";
export type { EventType, EventTypeOptions, FieldValue } from "./codec.js";
export { EventRegistry, eventRegistry, defineEvent, SETTLE_MS } from "./registry.js";
export type { Decoded, DecodedEvent, RawEvent, LostEvent, MetadataImage } from "./registry.js";
export { formatSchema } from "./text.js";
export { SCHEMA_ID_BASE, SCHEMA_ID_LAST, MAX_VAR_LENGTH } from "./metadata-layout.js";
