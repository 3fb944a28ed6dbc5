{
  "targets": [
    {
      "target_name": "urb_native",
      "sources": ["native/urb_native.cc"],
      "cflags_cc": ["-std=c++17", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Wno-cast-function-type"],
      "xcode_settings": { "CLANG_CXX_LANGUAGE_STANDARD": "c++17", "OTHER_CPLUSPLUSFLAGS": ["-O2", "-Wall"] }
    }
  ]
}
