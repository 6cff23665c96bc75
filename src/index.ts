/**
 * sockfd: the POSIX socket API for Node.js, on the kernel's real file descriptors.
 *
 * This entry point is the flat, synchronous C mirror: every function is named after its C call,
 * takes the fd first and makes that one system call (EINTR retried). Constants keep their C names.
 * Failures throw Node-shaped system errors (`code`, negative `errno`, `syscall`, `address`/`port`);
 * bad arguments throw a TypeError or RangeError naming the argument, before any system call.
 * @packageDocumentation
 */
export * from './constants.generated.js';
export { constants, constantName } from './constants.js';
export { SystemError, errnoName } from './errors.js';
export type {
  SockAddr,
  SockAddrIn,
  SockAddrIn6,
  SockAddrUn,
  SockAddrLl,
  SockAddrNl,
  SockAddrOther,
  SockAddrOf,
  DecodedFamily,
  InetFamily,
  OtherFamily,
  BinarySockAddr,
  AnySockAddr,
} from './sockaddr.js';
export { encodeSockaddr, decodeSockaddr, sockaddrHolder, SOCKADDR_BINARY_SIZE } from './sockaddrcodec.js';
export { socket, socketpair, close, shutdown, fcntl, ioctl, poll } from './socket.js';
export type { PollFd, PollResult } from './socket.js';
export { bind, listen, accept, connect, getsockname, getpeername } from './connection.js';
export type { AcceptResult } from './connection.js';
export { read, write, send, recv, sendto, recvfrom, recvfromInto, tryRecv, tryRecvfrom, tryRecvfromInto, trySend, trySendto } from './io.js';
export type { RecvFromResult } from './io.js';
export { sendmsg, recvmsg, sendmmsg, recvmmsg, recvmmsgInto } from './msg.js';
export { MMsgBatch, MMSG_BATCH_MAX } from './batch.js';
export type * from './cmsgtypes.js';
export type {
  SendMsgOptions,
  RecvMsgOptions,
  RecvMsgResult,
  MMsg,
  MMsgResult,
  RecvMMsgOptions,
  RecvMMsgBatchOptions,
} from './msg.js';
export type { MMsgBatchOptions } from './batch.js';
export { getsockopt, setsockopt, packBpf } from './sockopt.js';
export type { BpfInstruction, SockOptValue } from './sockopt.js';
export type {
  SocketOptionTypes,
  OptionType,
  IntOption,
  ReadOnlyIntOption,
  WriteOnlyIntOption,
  StructOption,
  BytesOption,
  ReadOnlyBytesOption,
  IpMulticastIf,
  SockOptGet,
  SockOptSet,
  AnySockOptGet,
  AnySockOptSet,
  ReadableName,
  WritableName,
} from './optiontypes.js';
export { TCP_STATES, decodeTcpInfo } from './optcodecs.js';
export type { Linger, Timeval, Ucred, IpMreqn, Ipv6Mreq, PacketMreq, TcpInfo, TcpStateName } from './optcodecs.js';
export { if_nametoindex, if_indextoname, inet_pton, inet_ntop, htons, ntohs, htonl, ntohl } from './inet.js';
export { watch, release } from './watcher.js';
export type { FdWatch } from './watcher.js';
export { fdOf } from './interop.js';
export { inspect } from './inspect.js';
export type { SocketInfo, TcpSocketInfo } from './inspect.js';
export { listSockets, SOCKET_STATES } from './sockdiag.js';
export type { SocketFilter } from './sockdiag.js';
export type { SocketEntry, SocketTimer, TcpDiag, InetDiag, UnixDiag, PacketDiag, PacketRing, BbrInfo, VegasInfo, DctcpInfo } from './diagtypes.js';
export type { SkMemInfo } from './skmem.js';
export { socketIn } from './socketin.js';
export type { NetnsRef } from './socketin.js';
export { toNetServer, toNetSocket, toDgram } from './handoff.js';
export type { ToNetServerOptions, ToNetSocketOptions, ToDgramOptions } from './handoff.js';
export { sendAll, writeAll } from './sendall.js';
export type { PartialWriteError } from './sendall.js';
export { RxRing } from './ring.js';
export type { RxRingOptions, RxRingStats } from './ring.js';
export { openRxRing } from './ringopen.js';
export type { OpenRxRingOptions } from './ringopen.js';
export { RxBlock, RxFrame } from './ringframe.js';
export type { RingWatch, RingWaitOptions } from './ringwait.js';
export { packetStatistics, packetFanout, getPacketFanout } from './packetopts.js';
export type { PacketStatistics, PacketFanoutOptions, PacketFanout } from './packetopts.js';
