# An independent packet builder for the sockfd/packet cross-check, in plain Python (struct, socket):
#   python3 build_packets.py [seed=1] [count=300]
# Prints `count` random packets, one JSON object a line: {"top": ether|arp|ipv4|ipv6, "hex": the
# bytes, "layers": [...], "payload": hex of the innermost payload, "corrupt": the layer whose checksum
# was deliberately broken, or null}. Each layer object is named by "layer" and holds the fields the
# packet was built with, under sockfd/packet's decoder names, checksums computed here (RFC 1071 and
# the pseudo-headers of RFC 768, 9293, 8200 and 4443).
import json
import random
import socket
import struct
import sys

seed = int(sys.argv[1]) if len(sys.argv) > 1 else 1
count = int(sys.argv[2]) if len(sys.argv) > 2 else 300
rng = random.Random(seed)


def csum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack('!BBH', 0, proto, length)
    return src + dst + struct.pack('!I3xB', length, proto)


def rbytes(n):
    return bytes(rng.randrange(256) for _ in range(n))


def v4():
    return rbytes(4)


def v6():
    kind = rng.randrange(4)
    if kind == 0:
        return b'\0' * 10 + b'\xff\xff' + rbytes(4)  # IPv4-mapped
    b = bytearray(rbytes(16))
    start = rng.randrange(8)
    end = start + rng.randrange(9 - start)
    b[start * 2:end * 2] = b'\0' * ((end - start) * 2)
    return bytes(b)


def ntop(b):
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, b)


def mac_text(b):
    return ':'.join('%02x' % x for x in b)


def pad4(b):
    return b + b'\0' * (-len(b) % 4)


def ipv4_options():
    """Returns (bytes, decoded list) of random IPv4 options fitting 40 bytes."""
    raw, parsed = b'', []
    for _ in range(rng.randrange(4)):
        kind = rng.choice(['nop', 'rr', 'ra', 'ts'])
        if kind == 'nop':
            opt, desc = b'\x01', {'kind': 'nop'}
        elif kind == 'rr':
            code, name = rng.choice([(7, 'recordRoute'), (131, 'looseSourceRoute'), (137, 'strictSourceRoute')])
            addrs = [v4() for _ in range(rng.randrange(1, 4))]
            pointer = 4 + 4 * rng.randrange(len(addrs) + 1)
            opt = struct.pack('!BBB', code, 3 + 4 * len(addrs), pointer) + b''.join(addrs)
            desc = {'kind': name, 'pointer': pointer, 'addresses': [ntop(a) for a in addrs]}
        elif kind == 'ra':
            value = rng.randrange(65536)
            opt, desc = struct.pack('!BBH', 148, 4, value), {'kind': 'routerAlert', 'value': value}
        else:
            stamps = [rng.randrange(2 ** 32) for _ in range(rng.randrange(1, 3))]
            overflow = rng.randrange(16)
            opt = struct.pack('!BBBB', 68, 4 + 4 * len(stamps), 5, overflow << 4) + b''.join(struct.pack('!I', t) for t in stamps)
            desc = {'kind': 'timestamp', 'pointer': 5, 'overflow': overflow, 'flag': 0,
                    'entries': [{'timestamp': t} for t in stamps]}
        if len(pad4(raw + opt)) > 40:
            break
        raw += opt
        parsed.append(desc)
    if len(raw) % 4:
        parsed.append({'kind': 'eol'})  # the zero padding reads as end of list
    return pad4(raw), parsed


def tcp_options(syn):
    if syn:
        # Linux's SYN: MSS, SACK permitted, timestamps, NOP, window scale.
        mss, tsval, shift = rng.randrange(536, 9000), rng.randrange(2 ** 32), rng.randrange(15)
        raw = struct.pack('!BBH', 2, 4, mss) + b'\x04\x02' + struct.pack('!BBII', 8, 10, tsval, 0) + b'\x01' + struct.pack('!BBB', 3, 3, shift)
        return raw, [{'kind': 'mss', 'value': mss}, {'kind': 'sackPermitted'},
                     {'kind': 'timestamps', 'value': tsval, 'echoReply': 0}, {'kind': 'nop'},
                     {'kind': 'windowScale', 'shift': shift}]
    tsval, tsecr = rng.randrange(2 ** 32), rng.randrange(2 ** 32)
    raw = b'\x01\x01' + struct.pack('!BBII', 8, 10, tsval, tsecr)
    parsed = [{'kind': 'nop'}, {'kind': 'nop'}, {'kind': 'timestamps', 'value': tsval, 'echoReply': tsecr}]
    if rng.random() < 0.5:
        blocks = [(rng.randrange(2 ** 32), rng.randrange(2 ** 32)) for _ in range(rng.randrange(1, 4))]
        raw += b'\x01\x01' + struct.pack('!BB', 5, 2 + 8 * len(blocks)) + b''.join(struct.pack('!II', l, r) for l, r in blocks)
        parsed += [{'kind': 'nop'}, {'kind': 'nop'}, {'kind': 'sack', 'blocks': [{'left': l, 'right': r} for l, r in blocks]}]
    return raw, parsed


corrupt = None


def maybe_corrupt(name, value):
    """Breaks one checksum in ten; never into 0, which UDP reads as "no checksum"."""
    global corrupt
    if corrupt is None and rng.random() < 0.1:
        corrupt = name
        value ^= 0x0101
        return value or 0x1234
    return value


def udp(src, dst, payload):
    sport, dport = rng.randrange(65536), rng.randrange(65536)
    length = 8 + len(payload)
    head = struct.pack('!HHHH', sport, dport, length, 0)
    check = maybe_corrupt('udp', csum(pseudo(src, dst, 17, length) + head + payload) or 0xffff)
    layer = {'layer': 'udp', 'sourcePort': sport, 'destinationPort': dport, 'length': length, 'checksum': check}
    return struct.pack('!HHHH', sport, dport, length, check) + payload, [layer]


def tcp(src, dst, payload):
    syn = rng.random() < 0.5
    sport, dport = rng.randrange(65536), rng.randrange(65536)
    seq, ack = rng.randrange(2 ** 32), (0 if syn else rng.randrange(2 ** 32))
    names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns']
    bits = 0x002 if syn else (0x010 | rng.randrange(512))
    opts, parsed = tcp_options(syn)
    opts_padded = pad4(opts)
    if len(opts) % 4:
        parsed = parsed + [{'kind': 'eol'}]
    offset = 5 + len(opts_padded) // 4
    window, urg = rng.randrange(65536), rng.randrange(65536)
    word = (offset << 12) | bits
    head = struct.pack('!HHIIHHHH', sport, dport, seq, ack, word, window, 0, urg) + opts_padded
    segment = head + (b'' if syn else payload)
    check = maybe_corrupt('tcp', csum(pseudo(src, dst, 6, len(segment)) + segment))
    segment = segment[:16] + struct.pack('!H', check) + segment[18:]
    layer = {'layer': 'tcp', 'sourcePort': sport, 'destinationPort': dport, 'sequenceNumber': seq,
             'acknowledgmentNumber': ack, 'dataOffset': offset, 'reserved': 0,
             'flags': {n: bool(bits & (1 << i)) for i, n in enumerate(names)}, 'window': window, 'checksum': check,
             'urgentPointer': urg, 'options': parsed}
    return segment, [layer], (b'' if syn else payload)


def icmp(payload):
    typ, code = rng.choice([(8, 0), (0, 0), (3, 4), (5, 1), (11, 0), (12, 0), (3, 1)])
    layer = {'layer': 'icmp', 'type': typ, 'code': code}
    if typ in (0, 8):
        ident, seq = rng.randrange(65536), rng.randrange(65536)
        rest = (ident << 16) | seq
        layer.update(identifier=ident, sequence=seq)
    elif typ == 5:
        gw = v4()
        rest = struct.unpack('!I', gw)[0]
        layer['gateway'] = ntop(gw)
    elif typ == 3 and code == 4:
        rest = rng.randrange(65536)
        layer['mtu'] = rest
    elif typ == 12:
        pointer = rng.randrange(256)
        rest = pointer << 24
        layer['pointer'] = pointer
    else:
        rest = 0
    check = maybe_corrupt('icmp', csum(struct.pack('!BBHI', typ, code, 0, rest) + payload))
    layer.update(checksum=check, restOfHeader=rest)
    return struct.pack('!BBHI', typ, code, check, rest) + payload, [layer]


def icmpv6(src, dst, payload):
    typ = rng.choice([128, 129, 2, 4, 1, 135])
    code = 0
    layer = {'layer': 'icmpv6', 'type': typ, 'code': code}
    if typ in (128, 129):
        ident, seq = rng.randrange(65536), rng.randrange(65536)
        rest = (ident << 16) | seq
        layer.update(identifier=ident, sequence=seq)
    elif typ == 2:
        rest = rng.randrange(1280, 2 ** 32)
        layer['mtu'] = rest
    elif typ == 4:
        rest = rng.randrange(2 ** 32)
        layer['pointer'] = rest
    else:
        rest = 0
    message = struct.pack('!BBHI', typ, code, 0, rest) + payload
    check = maybe_corrupt('icmpv6', csum(pseudo(src, dst, 58, len(message)) + message))
    layer.update(checksum=check, restOfHeader=rest)
    return struct.pack('!BBHI', typ, code, check, rest) + payload, [layer]


def ipv4(proto_choice=None):
    src, dst = v4(), v4()
    payload = rbytes(rng.randrange(48))
    proto = proto_choice or rng.choice([1, 6, 17])
    if proto == 17:
        inner, layers = udp(src, dst, payload)
    elif proto == 6:
        inner, layers, payload = tcp(src, dst, payload)
    else:
        inner, layers = icmp(payload)
    opts, parsed = ipv4_options() if rng.random() < 0.4 else (b'', [])
    ihl = 5 + len(opts) // 4
    tos, ident, ttl = rng.randrange(256), rng.randrange(65536), rng.randrange(1, 256)
    frag = (rng.randrange(2) << 14) | (rng.randrange(2) << 13) | (rng.randrange(8192) if rng.random() < 0.2 else 0)
    total = ihl * 4 + len(inner)

    def head(check):
        return struct.pack('!BBHHHBBH', 0x40 | ihl, tos, total, ident, frag, ttl, proto, check) + src + dst + opts

    check = maybe_corrupt('ipv4', csum(head(0)))
    layer = {'layer': 'ipv4', 'version': 4, 'ihl': ihl, 'dscp': tos >> 2, 'ecn': tos & 3, 'totalLength': total,
             'identification': ident, 'reservedFlag': False, 'dontFragment': bool(frag & 0x4000),
             'moreFragments': bool(frag & 0x2000), 'fragmentOffset': frag & 0x1fff, 'ttl': ttl, 'protocol': proto,
             'checksum': check, 'source': ntop(src), 'destination': ntop(dst), 'options': parsed}
    return head(check) + inner, [layer] + layers, payload


def ipv6(proto_choice=None):
    src, dst = v6(), v6()
    payload = rbytes(rng.randrange(48))
    proto = proto_choice or rng.choice([6, 17, 58])
    if proto == 17:
        inner, layers = udp(src, dst, payload)
    elif proto == 6:
        inner, layers, payload = tcp(src, dst, payload)
    else:
        inner, layers = icmpv6(src, dst, payload)
    tc, flow, hop = rng.randrange(256), rng.randrange(1 << 20), rng.randrange(256)
    head = struct.pack('!IHBB', (6 << 28) | (tc << 20) | flow, len(inner), proto, hop) + src + dst
    layer = {'layer': 'ipv6', 'version': 6, 'trafficClass': tc, 'flowLabel': flow, 'payloadLength': len(inner),
             'nextHeader': proto, 'hopLimit': hop, 'source': ntop(src), 'destination': ntop(dst)}
    return head + inner, [layer] + layers, payload


def arp():
    op = rng.choice([1, 2])
    sha, tha = rbytes(6), (b'\0' * 6 if op == 1 else rbytes(6))
    spa, tpa = v4(), v4()
    body = struct.pack('!HHBBH', 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa
    layer = {'layer': 'arp', 'hardwareType': 1, 'protocolType': 0x0800, 'hardwareLength': 6, 'protocolLength': 4,
             'operation': op, 'senderHardwareAddress': mac_text(sha), 'senderProtocolAddress': ntop(spa),
             'targetHardwareAddress': mac_text(tha), 'targetProtocolAddress': ntop(tpa)}
    return body, [layer], b''


def ether():
    dst, src = rbytes(6), rbytes(6)
    inner_kind = rng.choice(['arp', 'ipv4', 'ipv6'])
    if inner_kind == 'arp':
        inner, layers, payload = arp()
        etype = 0x0806
        pad = b'\0' * max(0, 46 - len(inner))  # the minimum frame's padding
        inner += pad
        payload = pad
    elif inner_kind == 'ipv4':
        inner, layers, payload = ipv4()
        etype = 0x0800
    else:
        inner, layers, payload = ipv6()
        etype = 0x86dd
    vlans = []
    tags = b''
    for _ in range(rng.choice([0, 0, 1, 2])):
        tpid, prio, dei, vid = rng.choice([0x8100, 0x88a8]), rng.randrange(8), rng.randrange(2), rng.randrange(4096)
        tags += struct.pack('!HH', tpid, (prio << 13) | (dei << 12) | vid)
        vlans.append({'tpid': tpid, 'priority': prio, 'dei': bool(dei), 'id': vid})
    layer = {'layer': 'ethernet', 'destination': mac_text(dst), 'source': mac_text(src), 'vlans': vlans, 'etherType': etype}
    return dst + src + tags + struct.pack('!H', etype) + inner, [layer] + layers, payload


MAKERS = [('ipv4', ipv4), ('ipv6', ipv6), ('ether', ether),
          ('ipv4', lambda: ipv4(6)), ('ipv4', lambda: ipv4(17)), ('ipv4', lambda: ipv4(1)),
          ('ipv6', lambda: ipv6(58)), ('ipv6', lambda: ipv6(17))]

for _ in range(count):
    corrupt = None
    top, make = rng.choice(MAKERS)
    data, layers, payload = make()
    print(json.dumps({'top': top, 'hex': data.hex(), 'layers': layers, 'payload': payload.hex(), 'corrupt': corrupt}))
sys.stdout.flush()
