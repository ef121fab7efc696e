# -*- Mode: python; py-indent-offset: 4; indent-tabs-mode: nil -*-
# waf build of cpp/ as an ns-3 module ("libos"), for waf-based ns-3 / DCE trees.
#
# The C++ half of the ns-3 plugin (LibosKernel, LibosStackHelper, LibosSocket and their
# factories) arrives with the ns-3 plugin issue; this module then declares those sources.
# Until then it builds nothing, so a tree that lists it still configures.


def build(bld):
    sources = bld.path.ant_glob('cpp/*.cc')
    if not sources:
        return
    module = bld.create_ns3_module('libos', ['core', 'network', 'internet'])
    module.source = [s.relpath() for s in sources]
    headers = bld(features='ns3header')
    headers.module = 'libos'
    headers.source = [h.relpath() for h in bld.path.ant_glob('cpp/*.h')]
