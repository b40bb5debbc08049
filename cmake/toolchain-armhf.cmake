# Cross-compile Anshim for 32-bit ARM hard-float, Debian's "armhf" (ARMv7-A
# with VFPv3-D16 and Thumb-2: Raspberry Pi 2/3/4/5 running a 32-bit OS; not
# the ARMv6 Pi 1 and Pi Zero/Zero W, see docs/CROSS-BUILD.md) on a Debian 12
# amd64 host, against the host's Debian multiarch packages
# (libuv1-dev:armhf and friends).
#
# On armhf, size_t and pointers are 32-bit and Debian 12's time_t is 32-bit;
# the gateway's default LMDB map size is 512M there (gateway/gwconfig.c).
#
#   cmake -S . -B build-armhf -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-armhf.cmake
#
# scripts/cross-build armhf installs what this needs and runs it; see
# docs/CROSS-BUILD.md.  The arm64 file is the same with another triplet.
set(ANSHIM_CROSS_TRIPLET arm-linux-gnueabihf)
set(ANSHIM_CROSS_QEMU qemu-arm-static)

set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR arm)

# crossbuild-essential-armhf
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
# interpreter and libraries come from the multiarch packages (libc6:armhf is
# pulled in by the -dev packages), so no -L sysroot is given: the cross libc
# in /usr/<triplet> may be a different glibc build than libc6:armhf and the
# two must not be mixed.
find_program(ANSHIM_CROSS_QEMU_PATH ${ANSHIM_CROSS_QEMU})
if(ANSHIM_CROSS_QEMU_PATH)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${ANSHIM_CROSS_QEMU_PATH})
endif()
