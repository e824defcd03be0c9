# portpool_set_warnings(target): the project's warning flags on one target.
function(portpool_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wconversion
                                           -Wno-sign-conversion
                                           # options structs are set with designated
                                           # initializers that name only what differs
                                           -Wno-missing-field-initializers
                                           # g++ 12 false positive on Asio's coroutine
                                           # frames (aligned_alloc vs. sized delete)
                                           -Wno-mismatched-new-delete)
endfunction()

# portpool_enable_sanitizers("address,undefined" | "thread" | ""): for every target.
function(portpool_enable_sanitizers list)
  if(list STREQUAL "")
    return()
  endif()
  set(flags -fsanitize=${list} -fno-omit-frame-pointer)
  if(list MATCHES "undefined")
    # -fno-sanitize=vptr: UBSan's vptr check probes memory with pipe(2), so in a process at
    # its open-file limit every first virtual call of a type is reported as "invalid vptr"
    # (GCC 12's libsanitizer). The fault tests drive portpool-proxy to EMFILE on purpose.
    list(APPEND flags -fno-sanitize-recover=undefined -fno-sanitize=vptr)
  endif()
  add_compile_options(${flags})
  add_link_options(-fsanitize=${list})
endfunction()
