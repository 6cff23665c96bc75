{
  "targets": [
    {
      "target_name": "sockfd",
      "sources": [
        "native/addon.cc",
        "native/args.cc",
        "native/batch.cc",
        "native/constants.cc",
        "native/connection.cc",
        "native/fd.cc",
        "native/inet.cc",
        "native/io.cc",
        "native/msg.cc",
        "native/netns.cc",
        "native/packetopt.cc",
        "native/poller.cc",
        "native/result.cc",
        "native/ring.cc",
        "native/sockaddr.cc",
        "native/socket.cc",
        "native/sockopt.cc"
      ],
      "dependencies": [
        "<!(node -p \"require('node-addon-api').targets\"):node_addon_api_except"
      ],
      "defines": [
        "NAPI_VERSION=8",
        "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"
      ],
      "cflags": [
        "-fvisibility=hidden"
      ],
      "cflags_cc": [
        "-std=c++17",
        "-O2",
        "-fvisibility=hidden",
        "-fno-plt",
        "-Wall",
        "-Wextra",
        "-Wno-unused-parameter"
      ]
    }
  ]
}
