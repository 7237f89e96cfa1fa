# The dashboard (docs/dashboard.md), built into qdcore; included by
# core/CMakeLists.txt so the generated source belongs to qdcore's folder.
#
#   1. npm ci in web/ when node_modules is missing or older than
#      package-lock.json (scripts/setup does the same ahead of the build);
#   2. web/build.mjs (esbuild, minified) into <build>/web: index.html,
#      app.js, app.css, again whenever a file under web/src changes;
#   3. web/embed_assets.cmake turns those into <build>/web/dashboard_bundle.cc,
#      the table core/monitor/dashboard_assets.cc serves.
find_program(QD_NODE node)
find_program(QD_NPM npm)
if(NOT QD_NODE OR NOT QD_NPM)
  message(FATAL_ERROR "node and npm are needed to build the dashboard "
    "(web/): run scripts/setup, or apt-get install nodejs npm")
endif()

set(QD_WEB_DIR ${PROJECT_SOURCE_DIR}/web)
set(QD_WEB_OUT ${CMAKE_BINARY_DIR}/web)
# npm ci writes node_modules/.package-lock.json last: its time says when
# node_modules was installed.
set(QD_WEB_INSTALLED ${QD_WEB_DIR}/node_modules/.package-lock.json)
add_custom_command(OUTPUT ${QD_WEB_INSTALLED}
  COMMAND ${QD_NPM} ci --no-audit --no-fund --loglevel=error
  WORKING_DIRECTORY ${QD_WEB_DIR}
  DEPENDS ${QD_WEB_DIR}/package.json ${QD_WEB_DIR}/package-lock.json
  COMMENT "npm ci in web/ (the dashboard's packages, from package-lock.json)"
  VERBATIM)

file(GLOB_RECURSE QD_WEB_SOURCES CONFIGURE_DEPENDS ${QD_WEB_DIR}/src/*)
set(QD_WEB_BUNDLE ${QD_WEB_OUT}/index.html ${QD_WEB_OUT}/app.js
  ${QD_WEB_OUT}/app.css)
add_custom_command(OUTPUT ${QD_WEB_BUNDLE}
  COMMAND ${QD_NODE} ${QD_WEB_DIR}/build.mjs --outdir ${QD_WEB_OUT}
  DEPENDS ${QD_WEB_DIR}/build.mjs ${QD_WEB_SOURCES} ${QD_WEB_INSTALLED}
  COMMENT "Bundling the dashboard (esbuild)"
  VERBATIM)

add_custom_command(OUTPUT ${QD_WEB_OUT}/dashboard_bundle.cc
  COMMAND ${CMAKE_COMMAND} -DDIR=${QD_WEB_OUT}
    -DOUT=${QD_WEB_OUT}/dashboard_bundle.cc
    -P ${QD_WEB_DIR}/embed_assets.cmake
  DEPENDS ${QD_WEB_BUNDLE} ${QD_WEB_DIR}/embed_assets.cmake
  COMMENT "Embedding the dashboard"
  VERBATIM)
target_sources(qdcore PRIVATE ${QD_WEB_OUT}/dashboard_bundle.cc)
