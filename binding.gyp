# No -std flag here: the Node headers' own common.gypi sets the language standard (gnu++17 up to
# Node 22, gnu++20 from Node 24, whose V8 headers require C++20), so each Node builds as it needs.
{
  "targets": [
    {
      "target_name": "urb_native",
      "sources": ["native/urb_native.cc"],
      "cflags_cc": ["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "xcode_settings": { "OTHER_CPLUSPLUSFLAGS": ["-O2", "-Wall"] }
    }
  ]
}
