# -*- Mode: python; py-indent-offset: 4; indent-tabs-mode: nil -*-
# waf build of cpp/ as an ns-3 module ("libos") for waf-based ns-3 / DCE trees.
#
# The C++ sources need the cxx bridge header and the Rust static library of the root
# package: build them first with
#     cargo build --release --features ns3 --lib -p libos-ns3
# and point LIBOS_TARGET at the cargo target directory (default: ./target).
import os


def build(bld):
    target = os.environ.get('LIBOS_TARGET', bld.path.find_dir('.').abspath() + '/target')
    module = bld.create_ns3_module('libos', ['core', 'network', 'internet'])
    module.source = [
        'cpp/libos-kernel.cc',
        'cpp/libos-socket.cc',
        'cpp/libos-stack-helper.cc',
    ]
    module.includes = [target + '/cxxbridge', 'cpp']
    module.defines = ['NS3_LOG_ENABLE', 'NS3_ASSERT_ENABLE']
    module.env.append_value('LINKFLAGS', [target + '/release/liblibos_ns3.a', '-ldl', '-lpthread'])
    headers = bld(features='ns3header')
    headers.module = 'libos'
    headers.source = [
        'cpp/libos-kernel.h',
        'cpp/libos-socket.h',
        'cpp/libos-stack-helper.h',
    ]
