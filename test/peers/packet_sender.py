# A raw Ethernet frame sender for the ring tests, run inside a test's network namespace:
#   python3 packet_sender.py IFACE COUNT ETHERTYPE SIZE [VLAN_TCI]
# Sends COUNT frames of SIZE bytes (destination ff:ff:ff:ff:ff:ff, source IFACE's MAC, EtherType
# ETHERTYPE; bytes 14-17 hold the frame's number, big-endian), with an 802.1Q tag carrying VLAN_TCI
# when given. Prints one JSON object: the source MAC, and for each frame its length on the wire and
# time.time_ns() just before its send (the kernel's receive timestamp can only come after it), then
# the time after the last send.
import json
import socket
import struct
import sys
import time

iface, count, ethertype, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
vlan = int(sys.argv[5]) if len(sys.argv) > 5 else None

s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
s.bind((iface, 0))
mac = s.getsockname()[4]
frames = []
for i in range(count):
    if vlan is None:
        head = b'\xff' * 6 + mac + struct.pack('!H', ethertype)
    else:
        head = b'\xff' * 6 + mac + struct.pack('!HHH', 0x8100, vlan, ethertype)
    body = struct.pack('!I', i)
    frame = head + body + bytes(max(0, size - len(head) - len(body)))
    before = time.time_ns()
    s.send(frame)
    frames.append({'len': len(frame), 'before': before})
print(json.dumps({'mac': mac.hex(), 'frames': frames, 'after': time.time_ns()}))
s.close()
