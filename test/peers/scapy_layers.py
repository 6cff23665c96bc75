# Scapy's view of the packets sockfd/packet builds, and packets scapy builds for sockfd/packet to parse.
# Run with Debian's python3 (python3-scapy):
#   /usr/bin/python3 scapy_layers.py check < lines    each line "<ether|ipv4|ipv6> <hex>"; prints, per line,
#       {"layers": [scapy class names], "rebuilt": hex}: the packet dissected by scapy and rebuilt with every
#       checksum and length field deleted, so scapy computes them itself (pseudo-headers with a routing
#       header's final destination included). Equal bytes mean scapy computes what sockfd wrote.
#   /usr/bin/python3 scapy_layers.py build SEED COUNT  prints COUNT packets built by scapy:
#       {"top": ..., "hex": ..., "expect": {...}}, expect holding fields under sockfd/packet's names.
import json
import random
import sys

import logging
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
from scapy.all import (IP, UDP, TCP, ICMP, Raw, Ether, IPv6,  # noqa: E402
                       IPv6ExtHdrHopByHop, IPv6ExtHdrDestOpt, IPv6ExtHdrRouting, IPv6ExtHdrFragment,
                       IPv6ExtHdrSegmentRouting, RouterAlert, PadN, Pad1, ICMPv6EchoRequest, ICMPv6TimeExceeded,
                       ICMPv6DestUnreach, ICMPv6ND_NS, ICMPv6ND_NA, ICMPv6ND_RS, ICMPv6ND_RA, ICMPv6ND_Redirect,
                       ICMPv6NDOptSrcLLAddr, ICMPv6NDOptDstLLAddr, ICMPv6NDOptPrefixInfo, ICMPv6NDOptMTU,
                       ICMPv6MLQuery, ICMPv6MLReport, ICMPv6MLDone, ICMPv6MLQuery2, ICMPv6MLReport2,
                       ICMPv6MLDMultAddrRec, raw)
from scapy.contrib.igmp import IGMP  # noqa: E402
from scapy.contrib.igmpv3 import IGMPv3, IGMPv3mq, IGMPv3mr, IGMPv3gr  # noqa: E402

COMPUTED = {'chksum', 'cksum', 'len', 'plen', 'ihl', 'dataofs'}


def strip(pkt):
    for layer in pkt.iterpayloads():
        for f in list(layer.fields):
            if f in COMPUTED:
                del layer.fields[f]
    return pkt


def check():
    tops = {'ether': Ether, 'ipv4': IP, 'ipv6': IPv6}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        top, data = line.split()
        pkt = tops[top](bytes.fromhex(data))
        names = [type(l).__name__ for l in pkt.iterpayloads()]
        again = tops[top](bytes.fromhex(data))
        strip(again)
        print(json.dumps({'layers': names, 'rebuilt': raw(again).hex()}))
    sys.stdout.flush()


def build(seed, count):
    rng = random.Random(seed)

    def v6():
        return '2001:db8:%x::%x' % (rng.randrange(1, 0xffff), rng.randrange(1, 0xffff))

    def mac():
        return ':'.join('%02x' % rng.randrange(256) for _ in range(6))

    def v4():
        return '10.%d.%d.%d' % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))

    makers = []

    def maker(f):
        makers.append(f)
        return f

    @maker
    def ns():
        src, tgt, ll = v6(), v6(), mac()
        p = IPv6(src=src, dst='ff02::1:ff00:1', hlim=255) / ICMPv6ND_NS(tgt=tgt) / ICMPv6NDOptSrcLLAddr(lladdr=ll)
        return 'ipv6', p, {'kind': 'neighborSolicitation', 'target': tgt, 'options': [{'kind': 'sourceLinkLayerAddress', 'address': ll}]}

    @maker
    def na():
        src, ll = v6(), mac()
        r, s, o = rng.randrange(2), rng.randrange(2), rng.randrange(2)
        p = IPv6(src=src, dst=v6(), hlim=255) / ICMPv6ND_NA(tgt=src, R=r, S=s, O=o) / ICMPv6NDOptDstLLAddr(lladdr=ll)
        return 'ipv6', p, {'kind': 'neighborAdvertisement', 'router': bool(r), 'solicited': bool(s), 'override': bool(o), 'target': src,
                           'options': [{'kind': 'targetLinkLayerAddress', 'address': ll}]}

    @maker
    def rs():
        ll = mac()
        p = IPv6(src=v6(), dst='ff02::2', hlim=255) / ICMPv6ND_RS() / ICMPv6NDOptSrcLLAddr(lladdr=ll)
        return 'ipv6', p, {'kind': 'routerSolicitation', 'options': [{'kind': 'sourceLinkLayerAddress', 'address': ll}]}

    @maker
    def ra():
        hop, life, reach, retrans = rng.randrange(256), rng.randrange(65536), rng.randrange(2 ** 32), rng.randrange(2 ** 32)
        m, o = rng.randrange(2), rng.randrange(2)
        prefix = '2001:db8:%x::' % rng.randrange(1, 0xffff)
        valid, pref = rng.randrange(2 ** 32), rng.randrange(2 ** 32)
        mtu = rng.randrange(1280, 9000)
        p = (IPv6(src='fe80::1', dst='ff02::1', hlim=255) / ICMPv6ND_RA(chlim=hop, M=m, O=o, routerlifetime=life, reachabletime=reach, retranstimer=retrans)
             / ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=valid, preferredlifetime=pref, prefix=prefix) / ICMPv6NDOptMTU(mtu=mtu))
        return 'ipv6', p, {'kind': 'routerAdvertisement', 'curHopLimit': hop, 'managed': bool(m), 'other': bool(o), 'routerLifetime': life,
                           'reachableTime': reach, 'retransTimer': retrans,
                           'options': [{'kind': 'prefixInformation', 'prefixLength': 64, 'onLink': True, 'autonomous': True, 'validLifetime': valid,
                                        'preferredLifetime': pref, 'prefix': prefix}, {'kind': 'mtu', 'mtu': mtu}]}

    @maker
    def redirect():
        tgt, dst = v6(), v6()
        p = IPv6(src='fe80::1', dst=v6(), hlim=255) / ICMPv6ND_Redirect(tgt=tgt, dst=dst)
        return 'ipv6', p, {'kind': 'redirect', 'target': tgt, 'destination': dst, 'options': []}

    @maker
    def mld1():
        group = 'ff0e::%x' % rng.randrange(1, 0xffff)
        kind = rng.choice(['query', 'report', 'done'])
        cls = {'query': ICMPv6MLQuery, 'report': ICMPv6MLReport, 'done': ICMPv6MLDone}[kind]
        mrd = rng.randrange(65536)
        p = IPv6(src='fe80::1', dst=group, hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / cls(mladdr=group, mrd=mrd)
        return 'ipv6', p, {'kind': {'query': 'mldQuery', 'report': 'mldReport', 'done': 'mldDone'}[kind], 'maxResponseCode': mrd, 'multicastAddress': group}

    @maker
    def mld2q():
        group = 'ff0e::%x' % rng.randrange(1, 0xffff)
        sources = [v6() for _ in range(rng.randrange(3))]
        qrv, qqic, s = rng.randrange(8), rng.randrange(256), rng.randrange(2)
        p = IPv6(src='fe80::1', dst='ff02::1', hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / ICMPv6MLQuery2(mladdr=group, sources=sources, QRV=qrv, QQIC=qqic, S=s)
        return 'ipv6', p, {'kind': 'mldQuery', 'multicastAddress': group, 'sources': sources, 'qrv': qrv, 'qqic': qqic, 'suppress': bool(s)}

    @maker
    def mld2r():
        recs = []
        exp = []
        for _ in range(1 + rng.randrange(3)):
            t, group, sources = rng.randrange(1, 7), 'ff0e::%x' % rng.randrange(1, 0xffff), [v6() for _ in range(rng.randrange(3))]
            recs.append(ICMPv6MLDMultAddrRec(rtype=t, dst=group, sources=sources))
            exp.append({'type': t, 'multicastAddress': group, 'sources': sources})
        p = IPv6(src='fe80::1', dst='ff02::16', hlim=1) / IPv6ExtHdrHopByHop(options=[RouterAlert(value=0)]) / ICMPv6MLReport2(records=recs)
        return 'ipv6', p, {'kind': 'mldv2Report', 'records': exp}

    @maker
    def igmp2():
        t = rng.choice([0x11, 0x16, 0x17])
        group = '239.%d.%d.%d' % (rng.randrange(256), rng.randrange(256), rng.randrange(1, 255))
        mrc = rng.randrange(256)
        p = IP(src=v4(), dst='224.0.0.1', ttl=1, options=[]) / IGMP(type=t, mrcode=mrc, gaddr=group)
        return 'ipv4', p, {'type': t, 'maxResponseCode': mrc, 'group': group}

    @maker
    def igmp3():
        if rng.random() < 0.5:
            group = '239.1.%d.%d' % (rng.randrange(256), rng.randrange(1, 255))
            srcs = [v4() for _ in range(rng.randrange(3))]
            qrv = rng.randrange(8)
            p = IP(src=v4(), dst='224.0.0.1', ttl=1) / IGMPv3(type=0x11, mrcode=rng.randrange(256)) / IGMPv3mq(gaddr=group, srcaddrs=srcs, qrv=qrv)
            return 'ipv4', p, {'type': 0x11, 'group': group, 'sources': srcs, 'qrv': qrv}
        recs, exp = [], []
        for _ in range(1 + rng.randrange(3)):
            t, group, srcs = rng.randrange(1, 7), '239.2.%d.%d' % (rng.randrange(256), rng.randrange(1, 255)), [v4() for _ in range(rng.randrange(3))]
            recs.append(IGMPv3gr(rtype=t, maddr=group, srcaddrs=srcs))
            exp.append({'type': t, 'multicastAddress': group, 'sources': srcs})
        p = IP(src=v4(), dst='224.0.0.22', ttl=1) / IGMPv3(type=0x22) / IGMPv3mr(records=recs)
        return 'ipv4', p, {'type': 0x22, 'records': exp}

    @maker
    def routed():
        hops = [v6() for _ in range(1 + rng.randrange(3))]
        left = rng.randrange(len(hops) + 1)
        p = IPv6(src=v6(), dst=v6()) / IPv6ExtHdrRouting(addresses=hops, segleft=left) / UDP(sport=rng.randrange(65536), dport=rng.randrange(65536)) / Raw(b'routed')
        return 'ipv6', p, {'routing': {'routingType': 0, 'segmentsLeft': left, 'addresses': hops}}

    @maker
    def srh():
        segs = [v6() for _ in range(1 + rng.randrange(3))]
        left = rng.randrange(len(segs))
        p = IPv6(src=v6(), dst=v6()) / IPv6ExtHdrSegmentRouting(addresses=segs, segleft=left) / TCP(sport=rng.randrange(65536), dport=rng.randrange(65536), flags='S')
        return 'ipv6', p, {'routing': {'routingType': 4, 'segmentsLeft': left, 'addresses': segs}}

    @maker
    def frag():
        off, m, ident = rng.randrange(8192), rng.randrange(2), rng.randrange(2 ** 32)
        p = IPv6(src=v6(), dst=v6()) / IPv6ExtHdrDestOpt(options=[PadN(optdata=b'\0\0\0\0')]) / IPv6ExtHdrFragment(offset=0, m=1, id=ident) / UDP(sport=1, dport=2) / Raw(b'x' * 16)
        return 'ipv6', p, {'fragment': {'fragmentOffset': 0, 'moreFragments': True, 'identification': ident}}

    @maker
    def quote4():
        probe = IP(src=v4(), dst=v4(), ttl=1, id=rng.randrange(65536)) / UDP(sport=rng.randrange(1024, 65536), dport=33434 + rng.randrange(30)) / Raw(b'\0' * rng.choice([12, 100, 972]))
        cut = rng.choice([28, 48, 548])
        p = IP(src=v4(), dst=probe[IP].src) / ICMP(type=11, code=0) / Raw(raw(probe)[:cut])
        return 'ipv4', p, {'quote': {'totalLength': len(probe), 'sourcePort': probe[UDP].sport, 'destinationPort': probe[UDP].dport, 'cut': cut}}

    @maker
    def quote6():
        probe = IPv6(src=v6(), dst=v6(), hlim=1) / UDP(sport=rng.randrange(1024, 65536), dport=33434) / Raw(b'\0' * 1400)
        cut = rng.choice([48, 1232])
        p = IPv6(src=v6(), dst=probe[IPv6].src) / ICMPv6TimeExceeded() / Raw(raw(probe)[:cut])
        return 'ipv6', p, {'quote': {'totalLength': len(probe), 'sourcePort': probe[UDP].sport, 'destinationPort': 33434, 'cut': cut}}

    for _ in range(count):
        top, p, expect = rng.choice(makers)()
        print(json.dumps({'top': top, 'hex': raw(p).hex(), 'expect': expect}))
    sys.stdout.flush()


if sys.argv[1] == 'check':
    check()
else:
    build(int(sys.argv[2]), int(sys.argv[3]))
