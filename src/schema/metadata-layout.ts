/**
 * The binary layout of the metadata area (event schemas) and of typed event payloads: every offset,
 * size, code and limit, in one place. The code twin of docs/FORMAT.md section 12; nothing else in
 * src/schema/ may contain a byte offset or a type code literal. No I/O and no Atomics here.
 *
 * ```
 * metadata area (H_METADATA_OFFSET, H_METADATA_BYTES bytes, zero at creation):
 * | entry 0 | entry 1 | ... | entry n-1 | 0 0 0 ... (first zero word0 = end)                 |
 * entry: | word0: state(31..30) size(29..0) | u16 id | u8 kind | u8 version | body ... | pad to 8 |
 * ```
 */

// ---------------------------------------------------------------------------------------------
// Entries. Each entry starts 8-aligned at offset 0 of the area or right after the previous one.
/** Bytes of an entry header (word0 + id/kind/version word). */
export const ENTRY_HEADER_BYTES = 8;
export const ENTRY_ALIGN = 8;
/** u32 atomic: the claim/commit word. 0 = free (end of the entries). */
export const E_WORD = 0;
/** u16: the event type id the entry describes. */
export const E_ID = 4;
/** u8: what the entry is ({@link ENTRY_KIND_SCHEMA}, {@link ENTRY_KIND_PROCESS}); readers skip other kinds by size. */
export const E_KIND = 6;
/** u8: encoding version of the entry body ({@link ENTRY_VERSION}). */
export const E_VERSION = 7;

export const ENTRY_STATE_SHIFT = 30;
/** Claimed by a definer, body being written; size is valid, body is not. */
export const ENTRY_BUSY = 1;
/** Published: body is complete and immutable. */
export const ENTRY_COMMITTED = 2;
/** Withdrawn by its definer (lost a same-name race with different fields); skip by size. */
export const ENTRY_DISCARDED = 3;
/** Bits 29..0 of word0: bytes the entry occupies (header + body + padding), a multiple of 8. */
export const ENTRY_SIZE_MASK = 0x3fffffff;

export const ENTRY_KIND_SCHEMA = 1;
/** A process's name (docs/FORMAT.md 12.6): who the records of a pid are, without a record of its own. */
export const ENTRY_KIND_PROCESS = 2;
export const ENTRY_VERSION = 1;

/** Build an entry word0. */
export function entryWord(state: number, size: number): number {
  return ((state << ENTRY_STATE_SHIFT) | size) | 0;
}
export function entryState(word: number): number {
  return word >>> ENTRY_STATE_SHIFT;
}
export function entrySize(word: number): number {
  return word & ENTRY_SIZE_MASK;
}

// ---------------------------------------------------------------------------------------------
// Schema entry body, offsets from the entry start.
/** u16: bytes of the fixed section of a payload (after natural-alignment padding, before variable fields). */
export const S_FIXED_BYTES = 8;
/** u16: number of fields. */
export const S_FIELD_COUNT = 10;
/** u16: largest payload this schema can produce (fixed bytes + sum of (2 + max) over variable fields). */
export const S_MAX_BYTES = 12;
/** u8: UTF-8 bytes of the event name. */
export const S_NAME_LEN = 14;
/** u8: reserved, 0. */
export const S_RESERVED = 15;
/** First byte of the event name; field descriptors follow it, byte-packed. */
export const S_NAME = 16;

// Field descriptor, offsets from the descriptor start (byte-packed, no alignment).
/** u8: type code (T_*). */
export const F_TYPE = 0;
/** u8: UTF-8 bytes of the field name. */
export const F_NAME_LEN = 1;
/** u16: byte count of a fixed byte array, maximum length of string/bytes, number of enum names; else 0. */
export const F_PARAM = 2;
/** u16: offset of the field in the fixed section, or F_VARIABLE for string/bytes. */
export const F_OFFSET = 4;
/** First byte of the field name; for an enum, F_PARAM names follow, each u8 length + UTF-8 bytes. */
export const F_NAME = 6;
export const FIELD_DESCRIPTOR_BYTES = 6;
export const F_VARIABLE = 0xffff;

// ---------------------------------------------------------------------------------------------
// Process entry body (ENTRY_KIND_PROCESS), offsets from the entry start.
/** u32: the process id the name belongs to. */
export const PR_PID = 8;
/** u8: UTF-8 bytes of the name, 1..PROCESS_NAME_MAX. */
export const PR_NAME_LEN = 12;
/** First byte of the name. */
export const PR_NAME = 13;
/** Longest process name a writer stores (readers accept up to 255 bytes that fit the entry). */
export const PROCESS_NAME_MAX = 64;

// ---------------------------------------------------------------------------------------------
// Type codes.
export const T_I8 = 1;
export const T_U8 = 2;
export const T_I16 = 3;
export const T_U16 = 4;
export const T_I32 = 5;
export const T_U32 = 6;
export const T_I64 = 7;
export const T_U64 = 8;
export const T_F32 = 9;
export const T_F64 = 10;
export const T_BOOL = 11;
/** Fixed-size byte array (F_PARAM bytes, alignment 1). */
export const T_ARRAY = 12;
/** Enum: u8 index when it has at most 256 names, else u16. */
export const T_ENUM = 13;
/** Variable-length UTF-8 string (length prefix + bytes). */
export const T_STRING = 14;
/** Variable-length bytes (length prefix + bytes). */
export const T_BYTES = 15;
export const T_MAX = T_BYTES;

// ---------------------------------------------------------------------------------------------
// Variable fields in a payload: u16 prefix, bit 15 = truncated, bits 14..0 = byte length.
export const VAR_PREFIX_BYTES = 2;
export const VAR_TRUNCATED = 0x8000;
export const VAR_LENGTH_MASK = 0x7fff;
/** Largest per-field maximum length of a string or bytes field. */
export const MAX_VAR_LENGTH = VAR_LENGTH_MASK;

// ---------------------------------------------------------------------------------------------
// Limits and ids.
/** Schema'd events get type ids SCHEMA_ID_BASE + (index of their entry); raw writers keep 0..SCHEMA_ID_BASE-1. */
export const SCHEMA_ID_BASE = 4096;
/** Last id the registry may assign (MAX_TYPE of the record header). */
export const SCHEMA_ID_LAST = 0x1fff;
export const MAX_NAME_BYTES = 255;
export const MAX_FIELDS = 255;
export const MAX_ENUM_NAMES = 65535;
export const MAX_ARRAY_BYTES = 65535;
/** Enums with more names than this use a u16 index. */
export const ENUM_U8_LIMIT = 256;
