# fabric/: the guests' private Ethernet (included by the top Makefile.am).

# The pure core: addressing, framing, local ARP/DHCP/DNS answers, routing
# and counters. No I/O but the stats writer; linked into the launcher and
# the unit tests.
noinst_LIBRARIES += fabric/libfabric.a
fabric_libfabric_a_SOURCES = fabric/be.h fabric/addr.c fabric/addr.h \
	fabric/frame.c fabric/frame.h fabric/ip.c fabric/ip.h \
	fabric/arp.c fabric/arp.h fabric/dhcp.c fabric/dhcp.h \
	fabric/route.c fabric/route.h fabric/stats.c fabric/stats.h \
	fabric/dns.c fabric/dns.h fabric/ctl.c fabric/ctl.h \
	fabric/guard.c fabric/guard.h fabric/pcap.c fabric/pcap.h
fabric_libfabric_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
# Automake's default "cru" makes binutils warn that "u" is ignored.
ARFLAGS = cr

FABRIC_UNIT_TESTS = tests/test_fabric_addr tests/test_fabric_frame \
	tests/test_fabric_arp tests/test_fabric_dhcp tests/test_fabric_route \
	tests/test_fabric_stats tests/test_fabric_dns tests/test_fabric_guard \
	tests/test_fabric_pcap
check_PROGRAMS += $(FABRIC_UNIT_TESTS)
FABRIC_TEST_LIBS = fabric/libfabric.a $(JANSSON_LIBS)
tests_test_fabric_addr_SOURCES = tests/test_fabric_addr.c tests/tap.h
tests_test_fabric_addr_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_frame_SOURCES = tests/test_fabric_frame.c tests/tap.h
tests_test_fabric_frame_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_arp_SOURCES = tests/test_fabric_arp.c tests/tap.h
tests_test_fabric_arp_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_dhcp_SOURCES = tests/test_fabric_dhcp.c tests/tap.h tests/wire.h
tests_test_fabric_dhcp_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_route_SOURCES = tests/test_fabric_route.c tests/tap.h
tests_test_fabric_route_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_stats_SOURCES = tests/test_fabric_stats.c tests/tap.h
tests_test_fabric_stats_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_fabric_stats_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_dns_SOURCES = tests/test_fabric_dns.c tests/tap.h tests/wire.h
tests_test_fabric_dns_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_guard_SOURCES = tests/test_fabric_guard.c tests/tap.h
tests_test_fabric_guard_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_fabric_guard_LDADD = $(FABRIC_TEST_LIBS)
tests_test_fabric_pcap_SOURCES = tests/test_fabric_pcap.c tests/tap.h
tests_test_fabric_pcap_LDADD = $(FABRIC_TEST_LIBS)

# The fuzz target needs clang's libFuzzer; it is built by hand (see the
# comment at its top), never by default.
EXTRA_DIST += fabric/fuzz_fabric.c

# The runtime: bootstrap over PMIx, the handshake, queues and the event
# loop that moves frames between the guest and the step's other launchers.
noinst_LIBRARIES += fabric/libfabric_run.a
fabric_libfabric_run_a_SOURCES = fabric/fabric.c fabric/fabric.h fabric/guest.c \
	fabric/fabric_int.h fabric/link.c fabric/listen.c fabric/cut.c \
	fabric/boot.c fabric/boot.h fabric/handshake.c fabric/handshake.h \
	fabric/queue.c fabric/queue.h
fabric_libfabric_run_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(PMIX_CFLAGS) $(CRYPTO_CFLAGS) $(VERBS_CFLAGS) -pthread
# The verbs transport: reliable connected queue pairs between nodes.
if HAVE_VERBS
fabric_libfabric_run_a_SOURCES += fabric/verbs.c fabric/verbs.h \
	fabric/link_verbs.c
else
EXTRA_DIST += fabric/verbs.c fabric/verbs.h fabric/link_verbs.c
endif
# What a program that runs a fabric links with.
FABRIC_RUN_LIBS = fabric/libfabric_run.a fabric/libfabric.a $(PMIX_LIBS) \
	$(CRYPTO_LIBS) $(JANSSON_LIBS) $(VERBS_LIBS)

check_PROGRAMS += tests/test_fabric_boot tests/test_fabric_handshake \
	tests/test_fabric_link tests/test_fabric_cut
tests_test_fabric_cut_SOURCES = tests/test_fabric_cut.c tests/tap.h
tests_test_fabric_cut_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)
tests_test_fabric_cut_LDADD = $(FABRIC_RUN_LIBS)
tests_test_fabric_cut_LDFLAGS = -pthread
tests_test_fabric_link_SOURCES = tests/test_fabric_link.c tests/tap.h
tests_test_fabric_link_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)
tests_test_fabric_link_LDADD = $(FABRIC_RUN_LIBS)
tests_test_fabric_link_LDFLAGS = -pthread
tests_test_fabric_boot_SOURCES = tests/test_fabric_boot.c tests/tap.h
tests_test_fabric_boot_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)
tests_test_fabric_boot_LDADD = $(FABRIC_RUN_LIBS)
tests_test_fabric_boot_LDFLAGS = -pthread
tests_test_fabric_handshake_SOURCES = tests/test_fabric_handshake.c tests/tap.h
tests_test_fabric_handshake_CFLAGS = $(AM_CFLAGS) $(CRYPTO_CFLAGS)
tests_test_fabric_handshake_LDADD = fabric/libfabric_run.a $(CRYPTO_LIBS)

# The fabric benchmark's stand-in endpoint (contrib/bench-fabric runs it).
noinst_PROGRAMS = fabric/bench/slurm-vm-netbench
fabric_bench_slurm_vm_netbench_SOURCES = fabric/bench/netbench.c

# A TCP request/response rate between two guests (contrib/bench-guest-net).
noinst_PROGRAMS += fabric/bench/slurm-vm-tcprr
fabric_bench_slurm_vm_tcprr_SOURCES = fabric/bench/tcprr.c

# One fabric outside Slurm, bootstrapped over a TCP rendezvous, with a
# command as its endpoint: for the verbs test inside guests.
noinst_PROGRAMS += fabric/bench/slurm-vm-fabric-peer
fabric_bench_slurm_vm_fabric_peer_SOURCES = fabric/bench/fabric_peer.c
fabric_bench_slurm_vm_fabric_peer_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
fabric_bench_slurm_vm_fabric_peer_LDADD = $(FABRIC_RUN_LIBS)
fabric_bench_slurm_vm_fabric_peer_LDFLAGS = -pthread

if HAVE_VERBS
check_PROGRAMS += tests/test_fabric_verbs
tests_test_fabric_verbs_SOURCES = tests/test_fabric_verbs.c tests/tap.h
tests_test_fabric_verbs_CFLAGS = $(AM_CFLAGS) $(VERBS_CFLAGS)
tests_test_fabric_verbs_LDADD = $(FABRIC_RUN_LIBS)
tests_test_fabric_verbs_LDFLAGS = -pthread
endif
