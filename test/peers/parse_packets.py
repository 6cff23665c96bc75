# An independent packet parser for the sockfd/packet cross-check, in plain Python (struct, socket):
#   python3 parse_packets.py < lines
# Each input line is "<top> <hex>", top being ether, arp, ipv4 or ipv6. Each output line is the JSON
# of {"layers": [...], "payload": hex of the innermost payload}: one object per layer, named by
# "layer", with the field names of sockfd/packet's decoders, plus "checksumComputed": the checksum
# that layer should carry, recomputed here from scratch (RFC 1071; the pseudo-headers of RFC 768,
# 9293, 8200 and 4443) with the checksum field taken as zero. A malformed line prints {"error": "..."}.
import json
import socket
import struct
import sys


def csum(data):
    if len(data) % 2:
        data += b'\0'
    total = sum(struct.unpack('!%dH' % (len(data) // 2), data))
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def zeroed(data, at):
    return data[:at] + b'\0\0' + data[at + 2:]


def pseudo(src, dst, proto, length):
    if len(src) == 4:
        return src + dst + struct.pack('!BBH', 0, proto, length)
    return src + dst + struct.pack('!I3xB', length, proto)


def mac(b):
    return ':'.join('%02x' % x for x in b)


def ntop(b):
    return socket.inet_ntop(socket.AF_INET if len(b) == 4 else socket.AF_INET6, b)


def tlv(data, interpret):
    out = []
    i = 0
    while i < len(data):
        kind = data[i]
        if kind == 0:
            out.append({'kind': 'eol'})
            break
        if kind == 1:
            out.append({'kind': 'nop'})
            i += 1
            continue
        if i + 1 >= len(data):
            raise ValueError('option without length')
        length = data[i + 1]
        if length < 2 or i + length > len(data):
            raise ValueError('bad option length')
        body = data[i + 2:i + length]
        out.append(interpret(kind, body) or {'kind': kind, 'data': body.hex()})
        i += length
    return out


def ipv4_option(kind, body):
    names = {7: 'recordRoute', 131: 'looseSourceRoute', 137: 'strictSourceRoute'}
    if kind in names and len(body) >= 1 and (len(body) - 1) % 4 == 0:
        return {'kind': names[kind], 'pointer': body[0],
                'addresses': [ntop(body[j:j + 4]) for j in range(1, len(body), 4)]}
    if kind == 68 and len(body) >= 2:
        flag = body[1] & 15
        unit = 4 if flag == 0 else 8
        if flag in (0, 1, 3) and (len(body) - 2) % unit == 0:
            entries = []
            for j in range(2, len(body), unit):
                if flag == 0:
                    entries.append({'timestamp': struct.unpack('!I', body[j:j + 4])[0]})
                else:
                    entries.append({'address': ntop(body[j:j + 4]), 'timestamp': struct.unpack('!I', body[j + 4:j + 8])[0]})
            return {'kind': 'timestamp', 'pointer': body[0], 'overflow': body[1] >> 4, 'flag': flag, 'entries': entries}
    if kind == 148 and len(body) == 2:
        return {'kind': 'routerAlert', 'value': struct.unpack('!H', body)[0]}
    return None


def tcp_option(kind, body):
    if kind == 2 and len(body) == 2:
        return {'kind': 'mss', 'value': struct.unpack('!H', body)[0]}
    if kind == 3 and len(body) == 1:
        return {'kind': 'windowScale', 'shift': body[0]}
    if kind == 4 and len(body) == 0:
        return {'kind': 'sackPermitted'}
    if kind == 5 and len(body) > 0 and len(body) % 8 == 0:
        return {'kind': 'sack', 'blocks': [dict(zip(('left', 'right'), struct.unpack('!II', body[j:j + 8])))
                                           for j in range(0, len(body), 8)]}
    if kind == 8 and len(body) == 8:
        value, echo = struct.unpack('!II', body)
        return {'kind': 'timestamps', 'value': value, 'echoReply': echo}
    return None


def ether(b, layers):
    dst, src = b[0:6], b[6:12]
    at = 12
    vlans = []
    (etype,) = struct.unpack('!H', b[at:at + 2])
    while etype in (0x8100, 0x88a8, 0x9100):
        (tci,) = struct.unpack('!H', b[at + 2:at + 4])
        vlans.append({'tpid': etype, 'priority': tci >> 13, 'dei': bool(tci & 0x1000), 'id': tci & 0xfff})
        at += 4
        (etype,) = struct.unpack('!H', b[at:at + 2])
    layers.append({'layer': 'ethernet', 'destination': mac(dst), 'source': mac(src), 'vlans': vlans, 'etherType': etype})
    rest = b[at + 2:]
    return {0x0800: ipv4, 0x86dd: ipv6, 0x0806: arp}.get(etype, lambda p, l: p)(rest, layers)


def arp(b, layers):
    htype, ptype, hlen, plen, op = struct.unpack('!HHBBH', b[:8])
    at = 8
    sha = b[at:at + hlen]; at += hlen
    spa = b[at:at + plen]; at += plen
    tha = b[at:at + hlen]; at += hlen
    tpa = b[at:at + plen]; at += plen
    paddr = (lambda x: ntop(x)) if (ptype == 0x0800 and plen == 4) else (lambda x: x.hex())
    layers.append({'layer': 'arp', 'hardwareType': htype, 'protocolType': ptype, 'hardwareLength': hlen,
                   'protocolLength': plen, 'operation': op, 'senderHardwareAddress': mac(sha),
                   'senderProtocolAddress': paddr(spa), 'targetHardwareAddress': mac(tha),
                   'targetProtocolAddress': paddr(tpa)})
    return b[at:]


def ipv4(b, layers):
    vihl, tos, total, ident, frag, ttl, proto, check = struct.unpack('!BBHHHBBH', b[:12])
    ihl = vihl & 15
    hl = ihl * 4
    src, dst = b[12:16], b[16:20]
    layers.append({'layer': 'ipv4', 'version': vihl >> 4, 'ihl': ihl, 'dscp': tos >> 2, 'ecn': tos & 3,
                   'totalLength': total, 'identification': ident, 'reservedFlag': bool(frag & 0x8000),
                   'dontFragment': bool(frag & 0x4000), 'moreFragments': bool(frag & 0x2000),
                   'fragmentOffset': frag & 0x1fff, 'ttl': ttl, 'protocol': proto, 'checksum': check,
                   'source': ntop(src), 'destination': ntop(dst), 'options': tlv(b[20:hl], ipv4_option),
                   'checksumComputed': csum(zeroed(b[:hl], 10))})
    return transport(proto, b[hl:total], src, dst, layers)


def ipv6(b, layers):
    first, plen, nxt, hop = struct.unpack('!IHBB', b[:8])
    src, dst = b[8:24], b[24:40]
    layers.append({'layer': 'ipv6', 'version': first >> 28, 'trafficClass': (first >> 20) & 0xff,
                   'flowLabel': first & 0xfffff, 'payloadLength': plen, 'nextHeader': nxt, 'hopLimit': hop,
                   'source': ntop(src), 'destination': ntop(dst)})
    return transport(nxt, b[40:40 + plen], src, dst, layers)


def transport(proto, b, src, dst, layers):
    if proto == 17:
        sport, dport, length, check = struct.unpack('!HHHH', b[:8])
        computed = csum(pseudo(src, dst, 17, length) + zeroed(b[:length], 6)) or 0xffff
        layers.append({'layer': 'udp', 'sourcePort': sport, 'destinationPort': dport, 'length': length,
                       'checksum': check, 'checksumComputed': computed})
        return b[8:length]
    if proto == 6:
        sport, dport, seq, ack, bits, window, check, urg = struct.unpack('!HHIIHHHH', b[:20])
        hl = (bits >> 12) * 4
        names = ['fin', 'syn', 'rst', 'psh', 'ack', 'urg', 'ece', 'cwr', 'ns']
        layers.append({'layer': 'tcp', 'sourcePort': sport, 'destinationPort': dport, 'sequenceNumber': seq,
                       'acknowledgmentNumber': ack, 'dataOffset': bits >> 12, 'reserved': (bits >> 9) & 7,
                       'flags': {n: bool(bits & (1 << i)) for i, n in enumerate(names)}, 'window': window,
                       'checksum': check, 'urgentPointer': urg, 'options': tlv(b[20:hl], tcp_option),
                       'checksumComputed': csum(pseudo(src, dst, 6, len(b)) + zeroed(b, 16))})
        return b[hl:]
    if proto in (1, 58):
        typ, code, check, rest = struct.unpack('!BBHI', b[:8])
        layer = {'layer': 'icmp' if proto == 1 else 'icmpv6', 'type': typ, 'code': code, 'checksum': check,
                 'restOfHeader': rest}
        if proto == 1:
            layer['checksumComputed'] = csum(zeroed(b, 2))
            if typ in (0, 8, 13, 14, 15, 16, 17, 18):
                layer.update(identifier=rest >> 16, sequence=rest & 0xffff)
            elif typ == 5:
                layer['gateway'] = ntop(b[4:8])
            elif typ == 3 and code == 4:
                layer['mtu'] = rest & 0xffff
            elif typ == 12:
                layer['pointer'] = rest >> 24
        else:
            layer['checksumComputed'] = csum(pseudo(src, dst, 58, len(b)) + zeroed(b, 2))
            if typ in (128, 129):
                layer.update(identifier=rest >> 16, sequence=rest & 0xffff)
            elif typ == 2:
                layer['mtu'] = rest
            elif typ == 4:
                layer['pointer'] = rest
        layers.append(layer)
        return b[8:]
    return b


TOPS = {'ether': ether, 'ipv4': ipv4, 'ipv6': ipv6, 'arp': arp}

for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    top, data = line.split()
    layers = []
    try:
        payload = TOPS[top](bytes.fromhex(data), layers)
        print(json.dumps({'layers': layers, 'payload': payload.hex()}))
    except (ValueError, struct.error, KeyError) as e:
        print(json.dumps({'error': str(e)}))
sys.stdout.flush()
