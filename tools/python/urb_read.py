#!/usr/bin/env python3
"""List the records of a unified-ring-buffer ring file or `.urb` trace file. Python 3 standard library only.

A reference reader written from docs/FORMAT.md alone: section 3 (validation), 9.6 (reading a
copy of the memory), 12 (event schemas in the metadata area), 13 (trace files: framing version 2
and 1, multi-page PAGE chunks, resynchronization after damage, per-lane continuity). A ring file
(createFileRing in `unified-ring-buffer/node`) is the ring image as it is; a trace file (snapshot,
page hand-off, `urb record`, `urb recover`) is recognized by its magic. Typed events are decoded
with the schemas the ring or file carries.

    python3 urb_read.py FILE               # one line per record, lane by lane
    python3 urb_read.py FILE --merge       # all lanes merged by time, as the TypeScript reader does
    python3 urb_read.py FILE --json        # one JSON object per record (see to_json below)
    python3 urb_read.py FILE --lane 2      # one lane only

Ring files: an iterator, it reads what is in the ring (from each lane's tail, like a TypeScript
`ring.iterator()`), never consumes, never writes. Read a file while processes write it only on
x86-64 (FORMAT.md 9.6); a snapshot (a copy of the file) can be read anywhere.

Trace files: the records of all lanes merged by time, one line each (`--json`: exactly the JSON
lines of `urb dump --json`); damage is reported on stderr with its byte offset, the intact chunks
before and after it are read, and the exit status is 1.

Exit status 2 and a message on stderr for a file that is neither.
"""
import argparse
import heapq
import json
import math
import mmap
import re
import struct
import sys
import zlib

RING_MAGIC = 0x31425255
SCHEMA_ID_BASE = 4096
SCHEMA_ID_LAST = 8191
TYPE_NAMES = {1: 'i8', 2: 'u8', 3: 'i16', 4: 'u16', 5: 'i32', 6: 'u32', 7: 'i64', 8: 'u64', 9: 'f32',
              10: 'f64', 11: 'bool', 12: 'array', 13: 'enum', 14: 'string', 15: 'bytes'}
SCALAR = {'i8': (1, '<b'), 'u8': (1, '<B'), 'i16': (2, '<h'), 'u16': (2, '<H'), 'i32': (4, '<i'),
          'u32': (4, '<I'), 'i64': (8, '<q'), 'u64': (8, '<Q'), 'f32': (4, '<f'), 'f64': (8, '<d'),
          'bool': (1, '<B')}
EVENT_NAME = re.compile(r'[A-Za-z_][A-Za-z0-9_.:-]*\Z')
FIELD_NAME = re.compile(r'[A-Za-z_$][A-Za-z0-9_$]*\Z')


class FormatError(Exception):
    """The bytes are not a valid ring (or a valid schema entry), with where and why."""


def u32(b, o):
    return struct.unpack_from('<I', b, o)[0]


def f64(b, o):
    return struct.unpack_from('<d', b, o)[0]


# ---- section 3: the header ------------------------------------------------------------------

def header_geometry(b):
    """Validate a ring header (FORMAT.md section 3 steps 1-12, in its order) and return the geometry."""
    if len(b) < 256:
        raise FormatError(f'{len(b)} bytes, less than the 256-byte ring header')
    if u32(b, 0) != RING_MAGIC:
        raise FormatError(f'bad magic 0x{u32(b, 0):x} at byte 0: not a ring')
    if u32(b, 4) != 1:
        raise FormatError(f'format version {u32(b, 4)} at byte 4, this reader knows version 1')
    if u32(b, 8) != 256:
        raise FormatError(f'header size {u32(b, 8)} at byte 8, expected 256')
    flags, clock, psh, lsh, own, shared, maxp, meta = (u32(b, o) for o in range(16, 48, 4))
    if flags & ~3:
        raise FormatError(f'unknown flags 0x{flags:x} at byte 16')
    if clock > 3:
        raise FormatError(f'clock kind {clock} at byte 20')
    if not 8 <= psh <= 16 or not 2 <= lsh <= 20:
        raise FormatError(f'page shift {psh} (8..16) or pages-per-lane shift {lsh} (2..20) out of range')
    if not (own <= 1024 and shared <= 1024 and 1 <= own + shared <= 1024 and 1 <= maxp <= 16384 and meta <= 1 << 24):
        raise FormatError('lane count, producer count or metadata size out of range')
    ps, P = 1 << psh, 1 << lsh
    meta_off = 256 + 64 * maxp
    lanes_off = (meta_off + (meta + 63) // 64 * 64 + 63) // 64 * 64
    stride = 192 + P * ps
    total = lanes_off + (own + shared) * stride
    if total > 0x7fffffff:
        raise FormatError(f'ring of {total} bytes is larger than 0x7fffffff')
    if meta % 64:
        raise FormatError(f'metadata size {meta} at byte 44 is not a multiple of 64')
    for off, want, what in ((12, total, 'total size'), (48, 256, 'producer table offset'),
                            (52, meta_off, 'metadata offset'), (56, lanes_off, 'lanes offset'), (60, stride, 'lane stride')):
        if u32(b, off) != want:
            raise FormatError(f'{what} at byte {off} is {u32(b, off)}, expected {want}')
    return dict(ps=ps, P=P, psh=psh, own=own, lanes=own + shared, lanes_off=lanes_off, stride=stride,
                meta_off=meta_off, meta=meta, max_payload=ps - 88, total=total)


def geometry(b):
    """Validate a whole ring image (FORMAT.md section 3, all steps) and return the geometry."""
    g = header_geometry(b)
    if len(b) < g['total']:
        raise FormatError(f'{len(b)} bytes but the header describes a ring of {g["total"]} bytes (truncated?)')
    for i in range(g['lanes']):
        if u32(b, g['lanes_off'] + i * g['stride']) != (1 if i >= g['own'] else 0):
            raise FormatError(f'lane {i} kind at byte {g["lanes_off"] + i * g["stride"]}')
    return g


# ---- section 9.6: the records of one lane ---------------------------------------------------

def identity(b, at, length, names):
    """An IDENTITY payload (8.3) at b[at:at+length] as (pid, threadId, name); names: (pid, threadId) -> name met so far."""
    if length < 8:
        return (0, -1, '')
    pid, tid = u32(b, at), u32(b, at + 4)
    tid = tid - (1 << 32) if tid >> 31 else tid
    if length > 8:
        names[(pid, tid)] = bytes(b[at + 8:at + min(length, 263)]).decode('utf-8', errors='replace')
    return (pid, tid, names.get((pid, tid), ''))


def records(b, g, lane):
    """Yield ('data', type, time, payload, who), ('lost', count, time, cause, who) oldest first (FORMAT.md 9.6).

    who = (pid, threadId, thread name): the nearest IDENTITY record before the record in its page
    (FORMAT.md 8.5), (0, -1, '') when unknown."""
    unknown = (0, -1, '')
    names = {}                                           # (pid, threadId) -> name met so far
    ps, P, psh = g['ps'], g['P'], g['psh']
    lb = g['lanes_off'] + lane * g['stride']
    own = lane < g['own']                                # own lane: PG_COMMITTED is checked

    def counter(slot):                                   # int64 page counter of a slot
        c = u32(b, slot + 4) << 32 | u32(b, slot)
        return c - (1 << 64) if c >> 63 else c
    head_lo = u32(b, lb + 8)                             # L_HEAD_PAGE
    hi = u32(b, lb + 192 + (head_lo % P) * ps + 4)
    if 0x1fffff < hi < 0xffffffff:
        raise FormatError(f'page counter >= 2^53 in lane {lane}')
    head = 0 if hi == 0xffffffff else hi << 32 | head_lo
    tail, bits = u32(b, lb + 64), 35 - psh               # L_TAIL_POS8
    d = (tail >> (psh - 3)) - head % (1 << bits)
    if d > 1 << (bits - 1):
        d -= 1 << bits
    elif d < -(1 << (bits - 1)):
        d += 1 << bits
    tail_page = max(0, head + d)
    tail_off = (tail & ((1 << (psh - 3)) - 1)) << 3     # records before it were consumed or cleared
    prev = seq = next_time = None                        # seq: data records before the next page
    for n, slot in sorted((counter(s), s) for s in (lb + 192 + i * ps for i in range(P))):
        if n < tail_page or (n - (slot - lb - 192) // ps) % P:
            continue
        base = f64(b, slot + 8)
        before = f64(b, slot + 16) if u32(b, slot + 32) == 1 else None
        if prev is not None and n != prev + 1:           # pages missing: as after a lap
            next_time = None
            lost = before - seq if None not in (before, seq) else float('nan')
            if lost != 0:
                yield ('lost', lost, base, 'overrun', unknown)
            seq = None
        if before is not None:
            seq = before
        final = u32(b, slot + 40) if own else 48         # PG_COMMITTED: all final below it
        if final % 8 or not 48 <= final <= ps:
            raise FormatError(f'bad PG_COMMITTED {final} at byte {slot + 40}')
        off, count, who = 48, 0, unknown
        while off < ps:
            w0 = u32(b, slot + off)
            state, length = w0 >> 30, (w0 >> 14) & 0xffff
            size = (8 + length + 7) & ~7
            if off >= final and (w0 == 0 or state == 1):
                break                                    # empty or BUSY: stop here
            if state <= 1 or off + size > (final if off < final else ps):
                raise FormatError(f'bad record header 0x{w0:08x} at byte {slot + off}')
            shown = n != tail_page or off >= tail_off     # the tail's page: from the tail on
            if state == 3:
                next_time = None                         # DISCARDED: a TIME value dies with it
            elif w0 & 0x2000:                            # internal: PADDING 0, LOST 1, TIME 2, IDENTITY 3
                kind = w0 & 0x1fff
                if kind == 2 and length >= 8:
                    next_time = f64(b, slot + off + 8)
                elif kind == 3:
                    who = identity(b, slot + off + 8, length, names)
                elif kind == 1 and length >= 8 and shown:
                    yield ('lost', f64(b, slot + off + 8), base + u32(b, slot + off + 4), 'dropped', who)
            else:
                t = base + u32(b, slot + off + 4) if next_time is None else next_time
                next_time = None
                if shown:
                    yield ('data', w0 & 0x1fff, t, bytes(b[slot + off + 8:slot + off + 8 + length]), who)
                count += 1
            off += size
        seq, prev = None if seq is None else seq + count, n
        if off < ps:
            break                                        # newest page reached


# ---- section 12: event schemas --------------------------------------------------------------

def _layout(name, fields, max_payload):
    """Validate a schema and compute its payload layout (12.2, 12.3): fixed offsets, sizes."""
    if not EVENT_NAME.match(name) or len(name.encode()) > 255:
        raise FormatError(f'invalid event name {name!r}')
    if len(fields) > 255:
        raise FormatError('more than 255 fields')
    seen = set()
    fixed = 0
    for f in fields:
        if not FIELD_NAME.match(f['name']) or f['name'] in seen:
            raise FormatError(f'invalid or repeated field name {f["name"]!r}')
        seen.add(f['name'])
        ty, param = f['type'], f['param']
        if ty == 'array' and not 1 <= param <= 65535 or ty in ('string', 'bytes') and not 1 <= param <= 32767:
            raise FormatError(f'field {f["name"]}: parameter {param} out of range')
        if ty == 'enum':
            if not 1 <= len(f['names']) <= 65535 or len(set(f['names'])) != len(f['names']) or '' in f['names']:
                raise FormatError(f'field {f["name"]}: invalid enum names')
        if ty in SCALAR:
            size = SCALAR[ty][0]
        elif ty == 'array':
            size = param
        elif ty == 'enum':
            size = 2 if param > 256 else 1
        else:
            f['offset'], f['size'] = -1, 0
            continue
        align = 1 if ty == 'array' else size
        fixed = (fixed + align - 1) & ~(align - 1)
        f['offset'], f['size'] = fixed, size
        fixed += size
    max_bytes = fixed + sum(2 + f['param'] for f in fields if f['type'] in ('string', 'bytes'))
    if max_bytes > max_payload:
        raise FormatError(f'event {name}: largest payload {max_bytes} exceeds the ring\'s {max_payload}')
    return fixed, max_bytes


def _parse_entry(b, at, size, expected_id, max_payload):
    end = at + size

    def need(o, n):
        if o + n > end:
            raise FormatError(f'schema entry at byte {at}: field runs past the end of the entry')

    def rd(fmt, o):
        need(o, struct.calcsize(fmt))
        return struct.unpack_from(fmt, b, o)[0]

    def rdstr(o, n):
        need(o, n)
        try:
            return bytes(b[o:o + n]).decode('utf-8')
        except UnicodeDecodeError:
            raise FormatError(f'schema entry at byte {at}: a name is not valid UTF-8') from None
    if rd('<H', at + 4) != expected_id:
        raise FormatError(f'schema entry at byte {at}: id {rd("<H", at + 4)}, expected {expected_id}')
    if rd('<B', at + 7) != 1:
        raise FormatError(f'schema entry at byte {at}: entry version {rd("<B", at + 7)}')
    fixed_bytes, count, max_bytes, name_len = rd('<H', at + 8), rd('<H', at + 10), rd('<H', at + 12), rd('<B', at + 14)
    name = rdstr(at + 16, name_len)
    p = at + 16 + name_len
    fields, stored_offsets = [], []
    for _ in range(count):
        code, fl, param, foff = rd('<B', p), rd('<B', p + 1), rd('<H', p + 2), rd('<H', p + 4)
        if code not in TYPE_NAMES:
            raise FormatError(f'schema entry at byte {at}: unknown type code {code}')
        f = dict(name=rdstr(p + 6, fl), type=TYPE_NAMES[code], param=param, names=[])
        p += 6 + fl
        if f['type'] == 'enum':
            for _ in range(param):
                nl = rd('<B', p)
                f['names'].append(rdstr(p + 1, nl))
                p += 1 + nl
        fields.append(f)
        stored_offsets.append(foff)
    fixed, mx = _layout(name, fields, max_payload)
    if fixed != fixed_bytes or mx != max_bytes:
        raise FormatError(f'schema entry at byte {at}: stored sizes {fixed_bytes}/{max_bytes}, the fields give {fixed}/{mx}')
    for f, foff in zip(fields, stored_offsets):
        if foff != (0xffff if f['offset'] < 0 else f['offset']):
            raise FormatError(f'schema entry at byte {at}: field {f["name"]} offset {foff}, expected {f["offset"]}')
    return dict(id=expected_id, name=name, fields=fields, fixed=fixed)


def schemas(b, g, base=None, cap=None):
    """The committed event schemas of a metadata area, by record type id (FORMAT.md 12.4, scanning).

    The ring's area by default; a trace file's METADATA chunk with `base`, `cap` (13.3: the scan is
    bounded by the chunk)."""
    out = {}
    if base is None:
        base, cap = g['meta_off'], g['meta']
    off, index = 0, 0
    while off + 8 <= cap:
        word = u32(b, base + off)
        if word == 0:
            break
        state, size = word >> 30, word & 0x3fffffff
        if state == 0 or size < 8 or size % 8 or off + size > cap or SCHEMA_ID_BASE + index > SCHEMA_ID_LAST:
            raise FormatError(f'metadata entry at byte {base + off}: word 0x{word:08x}')
        if state == 2 and b[base + off + 6] == 1:        # COMMITTED schema entry; BUSY, DISCARDED, other kinds: skip
            out[SCHEMA_ID_BASE + index] = _parse_entry(b, base + off, size, SCHEMA_ID_BASE + index, g['max_payload'])
        off += size
        index += 1
    return out


def process_names(b, g, base=None, cap=None):
    """The process entries of a metadata area (FORMAT.md 12.6): pid -> name, the last entry of a pid winning.

    Scanned like `schemas` (which raises FormatError for a corrupt area); a process entry that does
    not parse gives no name."""
    out = {}
    if base is None:
        base, cap = g['meta_off'], g['meta']
    off = 0
    while off + 8 <= cap:
        word = u32(b, base + off)
        state, size = word >> 30, word & 0x3fffffff
        if word == 0 or state == 0 or size < 8 or size % 8 or off + size > cap:
            break
        at = base + off
        if state == 2 and b[at + 6] == 2 and b[at + 7] == 1 and size >= 13:
            n = b[at + 12]
            if 0 < n and 13 + n <= size:
                out[u32(b, at + 8)] = bytes(b[at + 13:at + 13 + n]).decode('utf-8', errors='replace')
        off += size
    return out


class Malformed(Exception):
    """A payload that does not fit its schema (FORMAT.md 12.3): delivered raw."""


def decode(schema, payload):
    """Decode a payload with its schema: (fields, truncated names). Raises Malformed."""
    if len(payload) < schema['fixed']:
        raise Malformed(f'record of {len(payload)} bytes is too short for event {schema["name"]}')
    fields, truncated, var = {}, [], {}
    p = schema['fixed']
    for f in (f for f in schema['fields'] if f['offset'] < 0):   # variable fields, declaration order
        if p + 2 > len(payload):
            raise Malformed(f'field {f["name"]} has no length prefix')
        word = struct.unpack_from('<H', payload, p)[0]
        n = word & 0x7fff
        p += 2
        if n > f['param'] or p + n > len(payload):
            raise Malformed(f'field {f["name"]} claims {n} bytes')
        var[f['name']] = (payload[p:p + n], bool(word & 0x8000))
        p += n
    for f in schema['fields']:
        ty, o = f['type'], f['offset']
        if ty in SCALAR:
            v = struct.unpack_from(SCALAR[ty][1], payload, o)[0]
            v = v != 0 if ty == 'bool' else v
        elif ty == 'enum':
            i = payload[o] if f['size'] == 1 else struct.unpack_from('<H', payload, o)[0]
            if i >= f['param']:
                raise Malformed(f'field {f["name"]} has enum index {i}, but there are {f["param"]} names')
            v = f['names'][i]
        elif ty == 'array':
            v = bytes(payload[o:o + f['size']])
        else:
            raw, cut = var[f['name']]
            v = raw.decode('utf-8', errors='replace') if ty == 'string' else bytes(raw)
            if cut:
                truncated.append(f['name'])
        fields[f['name']] = v
    return fields, truncated


# ---- section 13: trace files -----------------------------------------------------------------

FILE_MAGIC = 0x54425255
CHUNK_SYNC = 0x4b435255
CHUNK_RING, CHUNK_METADATA, CHUNK_PAGE, CHUNK_LOST, CHUNK_END = 1, 2, 3, 4, 5
KIND_NAMES = {1: 'ring', 2: 'metadata', 3: 'page', 4: 'lost', 5: 'end', 6: 'pad'}   # pad: filler, skipped like any other kind


def crc32(b):
    return zlib.crc32(b) & 0xffffffff


class Trace:
    """A trace file indexed (FORMAT.md 13.2, 13.3, 13.5 steps 1-2): geometry, schemas, each lane's chunks."""

    def __init__(self, b):
        self.b, size = b, len(b)
        self.warnings = []                               # (byte offset, message)
        self.damage = []                                 # where framing damage starts (13.5 step 2)
        if size < 64:
            raise FormatError(f'{size} bytes, less than the 64-byte file header')
        if u32(b, 0) != FILE_MAGIC:
            raise FormatError(f'bad magic 0x{u32(b, 0):x} at byte 0: not a trace file')
        self.version = u32(b, 4)
        if self.version not in (1, 2):
            raise FormatError(f'trace file version {self.version} at byte 4, this reader knows 1 and 2')
        first = u32(b, 8)
        if first < 64 or first % 8 or first > size:
            raise FormatError(f'file header size {first} at byte 8')
        self.flags = u32(b, 12)
        if self.flags & ~3:
            raise FormatError(f'unknown file flags 0x{self.flags:x} at byte 12')
        self.hb = 40 if self.version >= 2 else 32        # chunk header bytes
        self.g, self.metadata, self.lanes, self.end = None, None, None, None
        pos = first
        while pos < size:
            if not self._intact(pos):
                if self.g is None:
                    raise FormatError(f'the first chunk header (byte {pos}) is damaged or cut short')
                nxt = self._resync(pos + 8)
                self.warn(pos, f'no intact chunk header at byte {pos}; {nxt - pos} bytes skipped')
                self.damage.append(pos)
                pos = nxt
                continue
            kind, flags, length, lane = u16(b, pos + 4), u16(b, pos + 6), u32(b, pos + 8), u32(b, pos + 16)
            what = f'{KIND_NAMES.get(kind, f"kind-{kind}")} chunk at byte {pos}'
            if pos + self.hb + length > size:
                self.warn(pos, f'truncated file: the {what} runs past the end')
                self.damage.append(pos)
                break
            if self.g is None and kind != CHUNK_RING:
                raise FormatError(f'the first chunk (byte {pos}) must be the ring header')
            payload = b[pos + self.hb:pos + self.hb + length]
            crc_ok = not (flags & 1) or crc32(payload) == u32(b, pos + 12)
            if flags & ~1:
                if self.g is None:
                    raise FormatError(f'unknown chunk flags in the ring header chunk at byte {pos}')
                self.warn(pos, f'{what}: unknown chunk flags 0x{flags:x}; skipped')
                self.damage.append(pos)
            elif kind == CHUNK_RING:
                if self.g is not None:
                    self.warn(pos, f'{what}: a second ring header; skipped')
                elif length != 256 or not crc_ok:
                    raise FormatError(f'bad ring header chunk at byte {pos}')
                else:
                    self.g = header_geometry(bytes(payload))
                    self.lanes = [[] for _ in range(self.g['lanes'])]
            elif kind == CHUNK_METADATA:
                if length > self.g['meta'] or not crc_ok:
                    self.warn(pos, f'damaged {what}; skipped')
                else:
                    self.metadata = bytes(payload)
            elif kind in (CHUNK_PAGE, CHUNK_LOST):
                if lane >= self.g['lanes'] or (kind == CHUNK_LOST and length < 16) or \
                        (kind == CHUNK_PAGE and not self._page_fits(length, u32(b, pos + 20))):
                    self.warn(pos, f'bad {what}; skipped')
                    self.damage.append(pos)
                else:
                    self.lanes[lane].append(pos)
            elif kind == CHUNK_END:
                if not crc_ok:
                    self.warn(pos, f'damaged {what}')
                else:
                    self.end = bytes(payload)
            pos += self.hb + (length + 7) // 8 * 8       # other kinds: skipped by length
        if self.g is None:
            raise FormatError('no ring header chunk')

    def warn(self, at, message):
        if (at, message) not in self.warnings:
            self.warnings.append((at, message))

    def _intact(self, pos):
        b, hb = self.b, self.hb
        if pos + hb > len(b) or u32(b, pos) != CHUNK_SYNC:
            return False
        if self.version >= 2:
            return crc32(b[pos:pos + 36]) == u32(b, pos + 36)
        return 1 <= u16(b, pos + 4) <= 5 and not u16(b, pos + 6) & ~1 and pos + hb + u32(b, pos + 8) <= len(b)

    def _resync(self, pos):
        while pos < len(self.b):
            if self._intact(pos):
                return pos
            pos += 8
        return len(self.b)

    def _page_fits(self, length, offset):
        ps = self.g['ps']
        if length < 48 or offset < 48 or offset % 8 or offset > ps:
            return False
        return length - 48 <= ps - offset or (offset == 48 and length % ps == 0 and length // ps <= 512)


def u16(b, o):
    return struct.unpack_from('<H', b, o)[0]


def trace_records(t, lane):
    """Yield ('data', type, time, payload, who), ('lost', count, time, cause, who) of one lane (FORMAT.md 13.4, 13.5; who as in records())."""
    b, hb, ps = t.b, t.hb, t.g['ps']
    exp = None                                           # (page, offset) the next chunk must continue at
    seq = float('nan')                                   # committed data records before the position
    unknown = (0, -1, '')
    who, who_page, names = unknown, None, {}             # the writer (8.3): kept by fragments of one page
    explained, broken, missing, prev_number, prev_pos = True, False, False, 0, -1
    for pos in t.lanes[lane]:
        length, value, kind = u32(b, pos + 8), f64(b, pos + 24), u16(b, pos + 4)
        offset, number = u32(b, pos + 20), u32(b, pos + 32) if hb > 32 else 0
        first_chunk = prev_pos < 0
        if number:                                       # 13.5 step 4: numbering
            if prev_number and number <= prev_number:
                t.warn(pos, f'repeated chunk at byte {pos} (lane {lane}); skipped')
                continue
            if number > prev_number + 1 and (prev_number or first_chunk):
                missing = True
                t.warn(pos, f'gap in lane {lane} before byte {pos}: chunks missing')
        elif first_chunk and t.damage and t.damage[0] < pos:
            missing = True
        prev_number, prev_pos = number, pos
        payload = b[pos + hb:pos + hb + length]
        if u16(b, pos + 6) & 1 and crc32(payload) != u32(b, pos + 12):
            t.warn(pos, f'damaged chunk at byte {pos} (lane {lane}): checksum mismatch')
            broken = True
            continue
        if kind == CHUNK_LOST:
            if missing:
                yield ('lost', float('nan'), f64(b, pos + hb), 'damaged', unknown)
            explained, broken, missing, seq = True, False, False, float('nan')
            if value != 0:                               # 0: a jump over pages without data records, no loss (13.4)
                yield ('lost', value, f64(b, pos + hb), 'dropped' if u32(b, pos + hb + 8) == 2 else 'overrun', unknown)   # LC_CAUSE
            continue
        k = length // ps if length > ps else 1           # pages in the chunk (13.3)
        for i in range(k):
            at = pos + hb + i * ps                       # this page's header copy
            page, off = value + i, offset if i == 0 else 48
            if not page >= 0 or u32(b, at) != int(page) % (1 << 32) or u32(b, at + 4) != int(page) // (1 << 32):
                t.warn(at, f'page chunk at byte {pos} (lane {lane}): page {page} expected at byte {at}; skipped')
                if page >= 0 and not (exp and (page, off) < exp):
                    exp = (page + 1, 48) if i < k - 1 or off + min(length - i * ps, ps) - 48 >= ps else (page, off + length - 48)
                broken = True
                continue
            base = f64(b, at + 8)
            known = f64(b, at + 16) if off == 48 and u32(b, at + 32) == 1 else float('nan')
            if exp and (page, off) < exp:                # goes back: skipped
                t.warn(at, f'repeated page chunk at byte {pos} (lane {lane}); skipped')
                break
            first = exp is None
            if first and page == 0 and known == 0:      # nothing of a lane comes before page 0's first record
                missing = False
            if not missing and (first or explained):
                explained, broken, seq = False, False, known
            else:
                jump = not first and not explained and (page, off) != exp
                explained = False
                if jump or missing or (broken and off == 48):
                    lost = float('nan') if first else known - seq
                    tail_only = jump and not missing and not broken and page == exp[0] + 1 and off == 48 and exp[1] > 48
                    if lost == 0 or (tail_only and lost != lost):
                        broken, seq = False, known
                    else:
                        if jump and not missing and not broken:
                            t.warn(pos, f'gap in lane {lane} at byte {pos}: page {page} offset {off}')
                        yield ('lost', lost if lost >= 0 else float('nan'), base, 'damaged', unknown)
                        broken, seq = False, known
                elif seq != seq:
                    seq = known
            missing = False
            if page != who_page:                         # a new page starts unknown; a fragment keeps its page's
                who, who_page = unknown, page
            end = min(length - i * ps, ps)               # bytes of this page in the chunk, header included
            exp = (page + 1, 48) if i < k - 1 or off + end - 48 >= ps else (page, off + end - 48)
            p, stop, next_time = at + 48, at + end, None
            while p < stop:                              # records, as in memory (9.5) with 13.4's rules
                w0 = u32(b, p)
                if w0 == 0:
                    break
                state, ln = w0 >> 30, (w0 >> 14) & 0xffff
                size = (8 + ln + 7) & ~7
                if state == 0 or p + size > stop:
                    t.warn(p, f'page chunk at byte {pos} (lane {lane}): bad record header at byte {p}')
                    broken = True
                    break
                if state != 2:                           # BUSY (skipped in files) or DISCARDED
                    next_time = None
                elif w0 & 0x2000:
                    kd = w0 & 0x1fff
                    if kd == 2 and ln >= 8:
                        next_time = f64(b, p + 8)
                    elif kd == 3:
                        who = identity(b, p + 8, ln, names)
                    elif kd == 1 and ln >= 8:
                        yield ('lost', f64(b, p + 8), base + u32(b, p + 4), 'dropped', who)
                else:
                    tm = base + u32(b, p + 4) if next_time is None else next_time
                    next_time = None
                    seq += 1
                    yield ('data', w0 & 0x1fff, tm, bytes(b[p + 8:p + 8 + ln]), who)
                p += size


def dump_json_value(ty, v):
    """A field value as `urb dump --json` writes it (FORMAT.md 12.3 types)."""
    if ty in ('i64', 'u64'):
        return v if -(1 << 53) <= v <= 1 << 53 else str(v)
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    if isinstance(v, bytes):
        return v.hex()
    return v


def trace_entries(t, lane, table):
    """One lane of a trace file as `urb dump --json` objects."""
    num = lambda v: dump_json_value('f64', v)
    for rec in trace_records(t, lane):
        pid, tid, name = rec[-1]
        who = dict(pid=pid, threadId=tid, thread=name) if pid else {}
        if rec[0] == 'lost':
            yield dict(t=num(rec[2]), lane=lane, **who, lost=None if rec[1] != rec[1] else num(rec[1]), cause=rec[3])
            continue
        _, ty, tm, payload, _ = rec
        s = table.get(ty)
        try:
            if s is None:
                raise Malformed(f'unknown event id {ty}: no schema for it in the metadata area')
            fields, truncated = decode(s, payload)
        except Malformed as e:
            e_out = dict(t=num(tm), lane=lane, **who, type=ty, data=payload.hex())
            if ty >= SCHEMA_ID_BASE:
                e_out['warning'] = str(e)
            yield e_out
            continue
        types = {f['name']: f['type'] for f in s['fields']}
        out = dict(t=num(tm), lane=lane, **who, event=s['name'], id=ty, fields={k: dump_json_value(types[k], v) for k, v in fields.items()})
        if truncated:
            out['truncated'] = truncated
        yield out


def read_trace(path, b, args):
    """Print a trace file's records merged by time (lane order on ties), as `urb dump`; 1 after damage."""
    t = Trace(b)
    table = {}
    if t.metadata is not None:
        try:
            table = schemas(t.metadata, t.g, 0, len(t.metadata))
        except FormatError as e:
            t.warn(0, f'the schemas in the file do not parse ({e}); events are read raw')
    lanes = [args.lane] if args.lane is not None else range(t.g['lanes'])
    if args.lane is not None and not 0 <= args.lane < t.g['lanes']:
        raise FormatError(f'lane {args.lane} does not exist (the ring has {t.g["lanes"]})')
    streams = [trace_entries(t, lane, table) for lane in lanes]
    for e in heapq.merge(*streams, key=lambda e: e['t'] if isinstance(e['t'], (int, float)) else float('nan')):
        print(json.dumps(e, ensure_ascii=False, allow_nan=False, separators=(',', ':')) if args.json else
              f'{e["t"]!r:>22}  L{e["lane"]}  ' + (f'LOST {e["lost"]} ({e["cause"]})' if 'lost' in e else
              f'{e["event"]}  {e["fields"]}' + (f'  truncated: {",".join(e["truncated"])}' if 'truncated' in e else '') if 'event' in e else
              f'type {e["type"]}  data={e["data"]}'))
    for at, message in t.warnings:
        print(f'warning: {path}: {message} (byte {at})', file=sys.stderr)
    return 1 if t.warnings else 0


# ---- output ---------------------------------------------------------------------------------

def _json_value(ty, v):
    if ty in ('i64', 'u64'):
        return str(v)                                    # JSON numbers lose precision past 2^53
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    if isinstance(v, bytes):
        return v.hex()
    return v


def lane_entries(b, g, lane, table, names=None):
    """The lane's records as dicts: kind 'event' (decoded), 'raw' (schema id, not decodable), 'data' (raw type), 'lost'.

    `names` (pid -> process name, `process_names`) adds `processName` to the records of a named process."""
    for rec in records(b, g, lane):
        who = dict(zip(('pid', 'threadId', 'threadName'), rec[4]))
        if names and who.get('pid') in names:
            who['processName'] = names[who['pid']]
        if rec[0] == 'lost':
            yield dict(lane=lane, kind='lost', time=rec[2], lost=rec[1], cause=rec[3], **who)
            continue
        _, ty, t, payload, _ = rec
        if ty < SCHEMA_ID_BASE:
            yield dict(lane=lane, kind='data', type=ty, time=t, payload=payload.hex(), **who)
            continue
        s = table.get(ty)
        try:
            if s is None:
                raise Malformed(f'unknown event id {ty}')
            fields, truncated = decode(s, payload)
        except Malformed as e:
            yield dict(lane=lane, kind='raw', type=ty, time=t, payload=payload.hex(), warning=str(e), **who)
            continue
        types = {f['name']: f['type'] for f in s['fields']}
        yield dict(lane=lane, kind='event', type=ty, name=s['name'], time=t,
                   fields={k: _json_value(types[k], v) for k, v in fields.items()}, truncated=truncated, **who)


def to_json(e):
    """One JSON line. Non-finite numbers become the strings NaN, Infinity, -Infinity."""
    out = dict(e)
    for k in ('time', 'lost'):
        if k in out:
            out[k] = _json_value('f64', out[k])
    return json.dumps(out, ensure_ascii=False, allow_nan=False)


def to_text(e):
    head = f'lane {e["lane"]:>2}  t={e["time"]!r:<22}'
    if e['kind'] == 'lost':
        return f'{head} LOST {e["lost"]!r} ({e["cause"]})'
    if e['kind'] == 'event':
        body = ' '.join(f'{k}={v!r}' for k, v in e['fields'].items())
        return f'{head} {e["name"]} (id {e["type"]}) {body}' + (f'  truncated: {",".join(e["truncated"])}' if e['truncated'] else '')
    return f'{head} type {e["type"]} {len(e["payload"]) // 2} bytes {e["payload"]}' + (f'  ({e["warning"]})' if 'warning' in e else '')


def main(argv=None):
    ap = argparse.ArgumentParser(description='List the records of a unified-ring-buffer ring file (docs/FORMAT.md).')
    ap.add_argument('file')
    ap.add_argument('--json', action='store_true', help='one JSON object per record')
    ap.add_argument('--merge', action='store_true', help='merge the lanes by time (ties: lower lane first)')
    ap.add_argument('--lane', type=int, help='read this lane only')
    args = ap.parse_args(argv)
    with open(args.file, 'rb') as fh:
        try:
            b = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:                               # an empty file cannot be mapped
            b = b''
        try:
            if len(b) >= 4 and u32(b, 0) == FILE_MAGIC:
                return read_trace(args.file, b, args)
            g = geometry(b)
            if args.lane is not None and not 0 <= args.lane < g['lanes']:
                raise FormatError(f'lane {args.lane} does not exist (the ring has {g["lanes"]})')
            try:
                table = schemas(b, g)
            except FormatError as e:
                print(f'warning: cannot read the metadata area ({e}); typed events are listed raw', file=sys.stderr)
                table = {}
            names = process_names(b, g)
            lanes = [args.lane] if args.lane is not None else range(g['lanes'])
            streams = [lane_entries(b, g, lane, table, names) for lane in lanes]
            entries = heapq.merge(*streams, key=lambda e: e['time']) if args.merge else (e for s in streams for e in s)
            emit = to_json if args.json else to_text
            for e in entries:
                print(emit(e))
        except FormatError as e:
            print(f'{args.file}: not a valid {"trace file" if len(b) >= 4 and u32(b, 0) == FILE_MAGIC else "ring"}: {e}', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
