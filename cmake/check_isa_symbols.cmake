# Fails the build when an ISA object (one compile of cpp/src/simd/target.cpp) defines a global or weak
# symbol outside its own namespace riskoffset::<target>:: besides its table accessor kernels_<target>().
#
# Such a symbol (an inline function of a shared header or of the standard library that the compiler did not
# inline) is emitted once per ISA object, and the linker keeps any one copy: generic code could then run an
# AVX-512 body and fault on an older CPU.  Every ISA object must therefore own all the code it runs.
#   cmake -DNM=<nm> -DTARGET=<name> -DOBJECTS=<obj;...> -P check_isa_symbols.cmake
separate_arguments(OBJECTS)
foreach(object IN LISTS OBJECTS)
  execute_process(COMMAND ${NM} -C --defined-only ${object} OUTPUT_VARIABLE symbols RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "check_isa_symbols: ${NM} failed on ${object}")
  endif()
  string(REPLACE "\n" ";" lines "${symbols}")
  foreach(line IN LISTS lines)
    # Global (upper-case type letter) or unique symbols only; local ones cannot be shared.
    if(NOT line MATCHES "^[0-9a-f]+ [A-Zu] ")
      continue()
    endif()
    if(line MATCHES "riskoffset::${TARGET}::" OR line MATCHES "riskoffset::kernels_${TARGET}\\(\\)"
       OR line MATCHES "DW\\.ref\\.__gxx_personality_v0")
      continue()
    endif()
    message(FATAL_ERROR "ISA object '${TARGET}' shares a symbol with the other targets: ${line}\n"
                        "Keep kernel code inside namespace riskoffset::RO_TARGET (or force it inline).")
  endforeach()
endforeach()
