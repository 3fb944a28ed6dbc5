#!/usr/bin/env python3
"""List the records of a unified-ring-buffer ring file. Python 3 standard library only.

A reference reader written from docs/FORMAT.md alone: section 3 (validation), 9.6 (reading a
copy of the memory), 12 (event schemas in the metadata area). A ring file (createFileRing in
`unified-ring-buffer/node`) is the ring image as it is, so this reads it directly; typed events are
decoded with the schemas the ring carries.

    python3 urb_read.py FILE               # one line per record, lane by lane
    python3 urb_read.py FILE --merge       # all lanes merged by time, as the TypeScript reader does
    python3 urb_read.py FILE --json        # one JSON object per record (see to_json below)
    python3 urb_read.py FILE --lane 2      # one lane only

It is an iterator: it reads what is in the ring (from each lane's tail, like a TypeScript
`ring.iterator()`), never consumes, never writes. Read a file while processes write it only on
x86-64 (FORMAT.md 9.6); a snapshot (a copy of the file) can be read anywhere. Exit status 2 and a
message on stderr for a file that is not a valid ring.
"""
import argparse
import heapq
import json
import math
import mmap
import re
import struct
import sys

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

def geometry(b):
    """Validate the ring header (FORMAT.md section 3, in its order) and return the geometry."""
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
    if len(b) < total:
        raise FormatError(f'{len(b)} bytes but the header describes a ring of {total} bytes (truncated?)')
    for i in range(own + shared):
        if u32(b, lanes_off + i * stride) != (1 if i >= own else 0):
            raise FormatError(f'lane {i} kind at byte {lanes_off + i * stride}')
    return dict(ps=ps, P=P, psh=psh, own=own, lanes=own + shared, lanes_off=lanes_off, stride=stride,
                meta_off=meta_off, meta=meta, max_payload=ps - 88)


# ---- section 9.6: the records of one lane ---------------------------------------------------

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
                    if length < 8:
                        who = unknown
                    else:
                        pid, tid = u32(b, slot + off + 8), u32(b, slot + off + 12)
                        tid = tid - (1 << 32) if tid >> 31 else tid
                        if length > 8:
                            raw = bytes(b[slot + off + 16:slot + off + 8 + min(length, 263)])
                            names[(pid, tid)] = raw.decode('utf-8', errors='replace')
                        who = (pid, tid, names.get((pid, tid), ''))
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


def schemas(b, g):
    """The committed event schemas of the metadata area, by record type id (FORMAT.md 12.4, scanning)."""
    out = {}
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


# ---- output ---------------------------------------------------------------------------------

def _json_value(ty, v):
    if ty in ('i64', 'u64'):
        return str(v)                                    # JSON numbers lose precision past 2^53
    if isinstance(v, float) and not math.isfinite(v):
        return 'NaN' if math.isnan(v) else ('Infinity' if v > 0 else '-Infinity')
    if isinstance(v, bytes):
        return v.hex()
    return v


def lane_entries(b, g, lane, table):
    """The lane's records as dicts: kind 'event' (decoded), 'raw' (schema id, not decodable), 'data' (raw type), 'lost'."""
    for rec in records(b, g, lane):
        who = dict(zip(('pid', 'threadId', 'threadName'), rec[4]))
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
            g = geometry(b)
            if args.lane is not None and not 0 <= args.lane < g['lanes']:
                raise FormatError(f'lane {args.lane} does not exist (the ring has {g["lanes"]})')
            try:
                table = schemas(b, g)
            except FormatError as e:
                print(f'warning: cannot read the metadata area ({e}); typed events are listed raw', file=sys.stderr)
                table = {}
            lanes = [args.lane] if args.lane is not None else range(g['lanes'])
            streams = [lane_entries(b, g, lane, table) for lane in lanes]
            entries = heapq.merge(*streams, key=lambda e: e['time']) if args.merge else (e for s in streams for e in s)
            emit = to_json if args.json else to_text
            for e in entries:
                print(emit(e))
        except FormatError as e:
            print(f'{args.file}: not a valid ring: {e}', file=sys.stderr)
            return 2
    return 0


if __name__ == '__main__':
    sys.exit(main())
