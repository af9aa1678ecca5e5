# The tablet app's rule engine: schema/forms compiled to WebAssembly with emscripten (forms.js + forms.wasm),
# one object per source so that a change recompiles only its file. Included (include(), same directory
# scope) from server/CMakeLists.txt, which embeds the outputs listed in AKT_APP_EXTRA. Does nothing when
# em++ is not found.
find_program(AKT_EMXX em++)
if(NOT AKT_EMXX)
  message(STATUS "em++ not found: the tablet app is built without tablet-side validation")
  return()
endif()
message(STATUS "em++ found (${AKT_EMXX}): the tablet app validates with schema/forms compiled to WebAssembly")
find_path(AKT_NLOHMANN_INCLUDE nlohmann/json.hpp REQUIRED)
set(out ${CMAKE_CURRENT_BINARY_DIR}/app_wasm)
# Only nlohmann goes on the include path (the host's /usr/include would shadow emscripten's libc).
file(MAKE_DIRECTORY ${out}/include)
file(CREATE_LINK ${AKT_NLOHMANN_INCLUDE}/nlohmann ${out}/include/nlohmann SYMBOLIC)
# Debian's emscripten runs its JavaScript optimiser with the system node; Debian keeps acorn there.
set(env ${CMAKE_COMMAND} -E env NODE_PATH=/usr/share/nodejs)
set(flags -std=c++20 -O2 -DNDEBUG -I${PROJECT_SOURCE_DIR} -I${out}/include)
file(GLOB forms_sources CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/schema/forms/*.cpp)
file(GLOB forms_headers CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/schema/forms/*.hpp ${PROJECT_SOURCE_DIR}/sync/status.hpp)
set(objects "")
foreach(src ${forms_sources} ${PROJECT_SOURCE_DIR}/clients/web/wasm/forms_wasm.cpp)
  get_filename_component(stem ${src} NAME_WE)
  add_custom_command(OUTPUT ${out}/${stem}.o
    COMMAND ${env} ${AKT_EMXX} ${flags} -c ${src} -o ${out}/${stem}.o
    DEPENDS ${src} ${forms_headers}
    COMMENT "em++ ${stem}.cpp")
  list(APPEND objects ${out}/${stem}.o)
endforeach()
add_custom_command(OUTPUT ${out}/forms.js ${out}/forms.wasm
  COMMAND ${env} ${AKT_EMXX} -O2 ${objects} -o ${out}/forms.js -sMODULARIZE=1 -sEXPORT_NAME=AktForms
          -sENVIRONMENT=web,worker -sDYNAMIC_EXECUTION=0 -sALLOW_MEMORY_GROWTH=1 -sFILESYSTEM=0
          -sEXPORTED_FUNCTIONS=_akt_forms -sEXPORTED_RUNTIME_METHODS=cwrap
  DEPENDS ${objects}
  COMMENT "Linking the tablet app's rule engine (WebAssembly)")
set(AKT_APP_EXTRA ${out}/forms.js ${out}/forms.wasm)
