# architecture.one_door: handlers/ and plugins/ reach the framework through
# one door, the public API in core/include/queuedaemon/ (the style rule:
# a built-in that needs more shows that the API lacks something). Fails,
# naming file and line, on an include of any other core header (by any
# path: "core/queue/x.h", "../core/x.h") and on a CMakeLists.txt there that
# links qdcore_internals, the target that would make such includes compile.
#   cmake -DROOT=<source dir> -P one_door.cmake
if(NOT ROOT)
  message(FATAL_ERROR "one_door.cmake: pass -DROOT=<source dir>")
endif()

file(GLOB_RECURSE sources
  ${ROOT}/handlers/*.h ${ROOT}/handlers/*.cc
  ${ROOT}/plugins/*.h ${ROOT}/plugins/*.cc)
file(GLOB_RECURSE lists
  ${ROOT}/handlers/CMakeLists.txt ${ROOT}/plugins/CMakeLists.txt)
if(NOT sources)
  message(FATAL_ERROR "one_door.cmake: no sources under ${ROOT}/handlers")
endif()

set(violations "")
foreach(file ${sources})
  file(STRINGS ${file} lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "^[ \t]*#[ \t]*include[ \t]*[\"<]([^\">]*)[\">]")
      set(path "${CMAKE_MATCH_1}")
      if(path MATCHES "(^|/)core/" AND
         NOT path MATCHES "(^|/)core/include/queuedaemon/[^/]+$")
        file(RELATIVE_PATH rel ${ROOT} ${file})
        string(APPEND violations "  ${rel}:${n}: #include \"${path}\"\n")
      endif()
    endif()
  endforeach()
endforeach()
foreach(file ${lists})
  file(STRINGS ${file} lines)
  set(n 0)
  foreach(line IN LISTS lines)
    math(EXPR n "${n} + 1")
    if(line MATCHES "^[^#]*qdcore_internals")
      file(RELATIVE_PATH rel ${ROOT} ${file})
      string(APPEND violations "  ${rel}:${n}: links qdcore_internals\n")
    endif()
  endforeach()
endforeach()

if(violations)
  message(FATAL_ERROR
    "handlers/ and plugins/ may include only queuedaemon/*.h of the core "
    "(core/include/queuedaemon/); make what they need public API instead:\n"
    "${violations}")
endif()
list(LENGTH sources count)
message(STATUS "one door: ${count} files under handlers/ and plugins/ use "
  "the public API only")
