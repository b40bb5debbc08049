# Cross-compile Anshim for 64-bit ARM (Raspberry Pi 3/4/5 with a 64-bit
# Raspberry Pi OS or Debian 12 "arm64") on a Debian 12 amd64 host, against
# the host's Debian multiarch packages (libuv1-dev:arm64 and friends).
#
#   cmake -S . -B build-arm64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm64.cmake
#
# scripts/cross-build arm64 installs what this needs and runs it; see
# docs/CROSS-BUILD.md.  The armhf file is the same with another triplet.
set(ANSHIM_CROSS_TRIPLET aarch64-linux-gnu)
set(ANSHIM_CROSS_QEMU qemu-aarch64-static)

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

# crossbuild-essential-arm64
set(CMAKE_C_COMPILER ${ANSHIM_CROSS_TRIPLET}-gcc)
set(CMAKE_CXX_COMPILER ${ANSHIM_CROSS_TRIPLET}-g++)

# Multiarch: the target's libraries live in /usr/lib/<triplet> (and their
# CMake packages in /usr/lib/<triplet>/cmake), the cross libc in
# /usr/<triplet>.  Setting the library architecture makes find_library and
# find_package search lib/<triplet> and never the host's lib/x86_64-linux-gnu,
# so FindOpenSSL and eclipse-paho-mqtt-c's config resolve to the target.
set(CMAKE_LIBRARY_ARCHITECTURE ${ANSHIM_CROSS_TRIPLET})
set(CMAKE_FIND_ROOT_PATH /usr/${ANSHIM_CROSS_TRIPLET} /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)   # build tools run on the host
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

# pkg-config reads only the target's .pc files (plus the architecture-
# independent ones).  Debian's <triplet>-pkg-config (package pkg-config:ARCH)
# does that by itself and is used when installed; the environment below makes
# the host's plain pkg-config do the same otherwise.  pkg_check_modules runs
# at configure time only, so setting the environment here is enough; a
# PKG_CONFIG_PATH from the caller's environment would add host .pc files.
find_program(ANSHIM_CROSS_PKG_CONFIG ${ANSHIM_CROSS_TRIPLET}-pkg-config)
if(ANSHIM_CROSS_PKG_CONFIG)
  set(PKG_CONFIG_EXECUTABLE ${ANSHIM_CROSS_PKG_CONFIG} CACHE FILEPATH
      "pkg-config for the target architecture")
endif()
set(ENV{PKG_CONFIG_LIBDIR}
    /usr/lib/${ANSHIM_CROSS_TRIPLET}/pkgconfig:/usr/share/pkgconfig)
unset(ENV{PKG_CONFIG_PATH})
unset(ENV{PKG_CONFIG_SYSROOT_DIR})

# ctest (and any add_test(COMMAND <target>)) runs target programs through
# qemu-user, so `ctest -L unit` works without binfmt_misc.  The ELF
# interpreter and libraries come from the multiarch packages (libc6:arm64 is
# pulled in by the -dev packages), so no -L sysroot is given: the cross libc
# in /usr/<triplet> may be a different glibc build than libc6:arm64 and the
# two must not be mixed.
find_program(ANSHIM_CROSS_QEMU_PATH ${ANSHIM_CROSS_QEMU})
if(ANSHIM_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ANSHIM_CROSS_QEMU_PATH})
endif()
