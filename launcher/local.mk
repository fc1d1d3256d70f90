# launcher/: one library per layer (README: Architecture; tests/t02-layers.sh
# checks what each may include), and the programs made of them. Included by
# the top Makefile.am after fabric/local.mk.

# common: the plugin-launcher contract, parsing, the clock, safe files.
# Position-independent: the plugin links it too.
noinst_LTLIBRARIES += launcher/common/libcommon.la
launcher_common_libcommon_la_SOURCES = launcher/common/launch_env.h \
	launcher/common/clock.h launcher/common/parse.c \
	launcher/common/parse.h launcher/common/safefile.c \
	launcher/common/safefile.h launcher/common/file_tail.c \
	launcher/common/file_tail.h launcher/common/loop.c \
	launcher/common/loop.h launcher/common/io.c launcher/common/io.h
COMMON_LIBS = launcher/common/libcommon.la

# agent: the launcher-agent protocol (the static agent links it too).
noinst_LIBRARIES += launcher/agent/libagent.a
launcher_agent_libagent_a_SOURCES = launcher/agent/agent_proto.c \
	launcher/agent/agent_proto.h launcher/agent/agent_setup.c \
	launcher/agent/agent_setup.h launcher/agent/agent_fresh.c \
	launcher/agent/agent_fresh.h

# snapdir: a snapshot on disk.
noinst_LIBRARIES += launcher/snapdir/libsnapdir.a
launcher_snapdir_libsnapdir_a_SOURCES = launcher/snapdir/manifest.c \
	launcher/snapdir/manifest.h launcher/snapdir/manifest_parse.c \
	launcher/snapdir/snapfile.c launcher/snapdir/snapdir.c \
	launcher/snapdir/snapdir.h
launcher_snapdir_libsnapdir_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS)
SNAPDIR_LIBS = launcher/snapdir/libsnapdir.a $(COMMON_LIBS) $(JANSSON_LIBS) \
	$(CRYPTO_LIBS)

# report: a step's results as JUnit or TAP.
noinst_LIBRARIES += launcher/report/libreport.a
launcher_report_libreport_a_SOURCES = launcher/report/report.c \
	launcher/report/report.h launcher/report/record.c \
	launcher/report/merge.c launcher/report/merge.h
launcher_report_libreport_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
REPORT_LIBS = launcher/report/libreport.a $(COMMON_LIBS) $(JANSSON_LIBS)

# boot: what makes a guest run.
noinst_LIBRARIES += launcher/boot/libboot.a
launcher_boot_libboot_a_SOURCES = launcher/boot/launch_config.c \
	launcher/boot/launch_config.h launcher/boot/plan.c \
	launcher/boot/plan.h launcher/boot/vm.c launcher/boot/vm.h \
	launcher/boot/disk.c launcher/boot/disk.h launcher/boot/tool.c \
	launcher/boot/tool.h launcher/boot/seed.c launcher/boot/seed.h \
	launcher/boot/seed_text.c launcher/boot/seed_text.h \
	launcher/boot/memory.c launcher/boot/memory.h launcher/boot/pin.c \
	launcher/boot/pin.h launcher/boot/qmp.c launcher/boot/qmp.h \
	launcher/boot/endpoint.c launcher/boot/endpoint.h \
	launcher/boot/guest_setup.c launcher/boot/guest_env.c \
	launcher/boot/guest_env.h launcher/boot/keep.c launcher/boot/keep.h \
	launcher/boot/image_cache.c launcher/boot/image_cache_dir.c \
	launcher/boot/image_cache_boot.c launcher/boot/image_cache.h
launcher_boot_libboot_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(HWLOC_CFLAGS) $(CRYPTO_CFLAGS) -pthread
BOOT_LIBS = launcher/boot/libboot.a launcher/agent/libagent.a \
	$(SNAPDIR_LIBS) fabric/libfabric.a $(HWLOC_LIBS)

# pmi: the PMI-1 service for the command in a guest (the wire, one rank's
# service, and the step's exchange over PMIx).
noinst_LIBRARIES += launcher/pmi/libpmi.a
launcher_pmi_libpmi_a_SOURCES = launcher/pmi/pmi_wire.c \
	launcher/pmi/pmi_wire.h launcher/pmi/pmi_server.c \
	launcher/pmi/pmi_server.h launcher/pmi/pmi_step.c \
	launcher/pmi/pmi_step.h
launcher_pmi_libpmi_a_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)

# save: saving and restoring a step.
noinst_LIBRARIES += launcher/save/libsave.a
launcher_save_libsave_a_SOURCES = launcher/save/snapshot.c \
	launcher/save/snapshot.h launcher/save/snapshot_int.h \
	launcher/save/snapshot_part.c launcher/save/snapshot_save.c \
	launcher/save/snapshot_disk.c launcher/save/snapshot_fail.c \
	launcher/save/restore.c launcher/save/restore.h
launcher_save_libsave_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS) -pthread

# control: the launcher's control socket (slurm-vm(1) reaches it).
noinst_LIBRARIES += launcher/control/libcontrol.a
launcher_control_libcontrol_a_SOURCES = launcher/control/control.c \
	launcher/control/control_stat.c \
	launcher/control/control.h launcher/control/ctl_find.c \
	launcher/control/ctl.h
launcher_control_libcontrol_a_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)

# Its node-side program, run by slurm-vm(1) through srun as the user.
pkglibexec_PROGRAMS += launcher/control/slurm-vm-control
launcher_control_slurm_vm_control_SOURCES = launcher/control/ctl_main.c \
	launcher/control/ctl_exec.c
launcher_control_slurm_vm_control_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
launcher_control_slurm_vm_control_LDADD = launcher/control/libcontrol.a \
	launcher/agent/libagent.a \
	$(COMMON_LIBS) $(JANSSON_LIBS)

# The launcher, one process per task: main, how a guest starts (run.c) and
# the agent session, on the layers above and the fabric.
bin_PROGRAMS = launcher/slurm-vm-launch launcher/report/slurm-vm-report-merge
launcher_report_slurm_vm_report_merge_SOURCES = launcher/report/merge_main.c
launcher_report_slurm_vm_report_merge_LDADD = $(REPORT_LIBS)
launcher_slurm_vm_launch_SOURCES = launcher/launch.c launcher/run.c \
	launcher/run.h launcher/run_int.h launcher/run_control.c \
	launcher/run_fail.c launcher/session.c launcher/session.h \
	launcher/session_tails.c launcher/exec_relay.c launcher/exec_relay.h
launcher_slurm_vm_launch_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(HWLOC_CFLAGS) $(PMIX_CFLAGS) $(CRYPTO_CFLAGS) -pthread
launcher_slurm_vm_launch_LDADD = launcher/control/libcontrol.a \
	launcher/save/libsave.a \
	launcher/report/libreport.a launcher/pmi/libpmi.a $(BOOT_LIBS) \
	$(FABRIC_RUN_LIBS)
launcher_slurm_vm_launch_LDFLAGS = -pthread

# slurm-vm-sync, in the agent: the step's barriers and values.
SYNC_SOURCES = launcher/agent/sync_proto.c launcher/agent/sync_proto.h \
	launcher/agent/sync_server.c launcher/agent/sync_server.h \
	launcher/agent/sync_client.c launcher/agent/sync_client.h
# The guest agent: static, so it runs in any guest.
pkglibexec_PROGRAMS += launcher/slurm-vm-agent
AGENT_EXEC_SOURCES = launcher/agent/agent_exec.c launcher/agent/agent_exec.h
launcher_slurm_vm_agent_SOURCES = launcher/agent/guest_agent.c \
	launcher/agent/agent_port.c launcher/agent/agent_port.h \
	launcher/agent/agent_proc.c launcher/agent/agent_proc.h \
	$(AGENT_EXEC_SOURCES) $(SYNC_SOURCES)
launcher_slurm_vm_agent_LDADD = launcher/agent/libagent.a fabric/libfabric.a
launcher_slurm_vm_agent_LDFLAGS = -all-static

EXTRA_DIST += launcher/agent/fuzz_agent_proto.c launcher/pmi/fuzz_pmi.c \
	launcher/control/fuzz_control.c \
	launcher/boot/fuzz_agent_setup.c launcher/boot/fuzz_keep_path.c \
	launcher/snapdir/fuzz_manifest.c launcher/agent/fuzz_sync.c

# Unit tests of the layers. Those that link the boot or save layers run
# their threads (the snapshot writer) and read JSON.
THREADED_TEST_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS) -pthread
check_PROGRAMS += tests/test_agent_proto tests/test_agent_fresh \
	tests/test_agent_exec tests/test_exec_relay \
	tests/test_plan tests/test_pin \
	tests/test_disk tests/test_manifest tests/test_seed_text \
	tests/test_memory tests/test_snap_attack tests/test_qmp \
	tests/test_agent_setup tests/test_guest_env tests/test_pmi \
	tests/test_pmi_step tests/test_report tests/test_loop tests/test_session \
	tests/test_snapshot tests/test_parse tests/test_report_merge \
	tests/test_control tests/test_ctl tests/test_keep tests/test_io \
	tests/test_image_cache
tests_test_image_cache_SOURCES = tests/test_image_cache.c tests/tap.h
tests_test_image_cache_LDADD = $(BOOT_LIBS) $(CRYPTO_LIBS)
tests_test_report_merge_SOURCES = tests/test_report_merge.c tests/tap.h
tests_test_report_merge_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_report_merge_LDADD = $(REPORT_LIBS)
tests_test_io_SOURCES = tests/test_io.c tests/tap.h
tests_test_io_LDADD = $(COMMON_LIBS)
tests_test_parse_SOURCES = tests/test_parse.c tests/tap.h
tests_test_parse_LDADD = $(COMMON_LIBS)
tests_test_ctl_SOURCES = tests/test_ctl.c tests/tap.h
tests_test_ctl_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_ctl_LDADD = launcher/control/libcontrol.a $(COMMON_LIBS) \
	$(JANSSON_LIBS)
tests_test_control_SOURCES = tests/test_control.c tests/tap.h
tests_test_control_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_control_LDADD = launcher/control/libcontrol.a $(COMMON_LIBS) \
	$(JANSSON_LIBS)
tests_test_keep_SOURCES = tests/test_keep.c tests/tap.h
tests_test_keep_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_keep_LDADD = $(BOOT_LIBS) $(JANSSON_LIBS)
tests_test_loop_SOURCES = tests/test_loop.c tests/tap.h
tests_test_loop_LDADD = $(COMMON_LIBS)
tests_test_session_SOURCES = tests/test_session.c tests/tap.h \
	launcher/session.c launcher/session.h launcher/session_tails.c
tests_test_session_CFLAGS = $(THREADED_TEST_CFLAGS)
tests_test_session_LDADD = launcher/report/libreport.a launcher/pmi/libpmi.a \
	$(BOOT_LIBS) $(PMIX_LIBS)
tests_test_session_LDFLAGS = -pthread
tests_test_snapshot_SOURCES = tests/test_snapshot.c tests/tap.h
tests_test_snapshot_CFLAGS = $(THREADED_TEST_CFLAGS)
tests_test_snapshot_LDADD = launcher/save/libsave.a \
	$(BOOT_LIBS)
tests_test_snapshot_LDFLAGS = -pthread
tests_test_agent_setup_SOURCES = tests/test_agent_setup.c tests/tap.h
tests_test_agent_setup_LDADD = $(BOOT_LIBS)
tests_test_guest_env_SOURCES = tests/test_guest_env.c tests/tap.h
tests_test_guest_env_LDADD = $(BOOT_LIBS)
tests_test_pmi_SOURCES = tests/test_pmi.c tests/tap.h
tests_test_pmi_LDADD = launcher/pmi/libpmi.a
tests_test_pmi_step_SOURCES = tests/test_pmi_step.c tests/tap.h
tests_test_pmi_step_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)
tests_test_pmi_step_LDADD = launcher/pmi/libpmi.a $(PMIX_LIBS)

# A stand-in launcher's control socket for slurm-vm(1)'s test without a
# lab (tests/t06-slurm-vm-cmd.sh).
noinst_PROGRAMS += tests/control-stub
tests_control_stub_SOURCES = tests/control_stub.c
tests_control_stub_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_control_stub_LDADD = launcher/control/libcontrol.a $(COMMON_LIBS) \
	$(JANSSON_LIBS)
# ...and for exec and shell: the real relay, session and agent sessions
# (tests/t07-exec.sh).
noinst_PROGRAMS += tests/exec-stub
tests_exec_stub_SOURCES = tests/exec_stub.c launcher/exec_relay.c \
	launcher/session.c launcher/session_tails.c $(AGENT_EXEC_SOURCES)
tests_exec_stub_CFLAGS = $(THREADED_TEST_CFLAGS)
tests_exec_stub_LDADD = launcher/control/libcontrol.a \
	launcher/report/libreport.a launcher/pmi/libpmi.a $(BOOT_LIBS) \
	$(PMIX_LIBS) $(JANSSON_LIBS)

# The PMI service against a real MPI library, without guests or Slurm
# (tests/t08-pmi-mpich.sh).
noinst_PROGRAMS += tests/pmi-harness
tests_pmi_harness_SOURCES = tests/pmi_harness.c
tests_pmi_harness_LDADD = launcher/pmi/libpmi.a
EXTRA_DIST += tests/mpi_check.c

tests_test_agent_proto_SOURCES = tests/test_agent_proto.c tests/tap.h
tests_test_agent_proto_LDADD = launcher/agent/libagent.a
tests_test_agent_exec_SOURCES = tests/test_agent_exec.c tests/tap.h \
	$(AGENT_EXEC_SOURCES)
tests_test_agent_exec_LDADD = launcher/agent/libagent.a $(COMMON_LIBS)
tests_test_exec_relay_SOURCES = tests/test_exec_relay.c tests/tap.h \
	launcher/exec_relay.c launcher/exec_relay.h
tests_test_exec_relay_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_exec_relay_LDADD = launcher/control/libcontrol.a \
	launcher/agent/libagent.a $(COMMON_LIBS) $(JANSSON_LIBS)
tests_test_agent_fresh_SOURCES = tests/test_agent_fresh.c tests/tap.h
tests_test_agent_fresh_LDADD = launcher/agent/libagent.a
tests_test_plan_SOURCES = tests/test_plan.c tests/tap.h
tests_test_plan_LDADD = $(BOOT_LIBS)
tests_test_pin_SOURCES = tests/test_pin.c tests/tap.h
tests_test_pin_CFLAGS = $(AM_CFLAGS) $(HWLOC_CFLAGS)
tests_test_pin_LDADD = $(BOOT_LIBS)
tests_test_disk_SOURCES = tests/test_disk.c tests/tap.h
tests_test_disk_CFLAGS = $(THREADED_TEST_CFLAGS)
tests_test_disk_LDADD = $(BOOT_LIBS)
tests_test_disk_LDFLAGS = -pthread
tests_test_manifest_SOURCES = tests/test_manifest.c tests/tap.h
tests_test_manifest_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
tests_test_manifest_LDADD = $(SNAPDIR_LIBS)
tests_test_seed_text_SOURCES = tests/test_seed_text.c tests/tap.h
tests_test_seed_text_LDADD = $(BOOT_LIBS)
tests_test_memory_SOURCES = tests/test_memory.c tests/tap.h
tests_test_memory_CFLAGS = $(THREADED_TEST_CFLAGS)
tests_test_memory_LDADD = launcher/save/libsave.a $(BOOT_LIBS)
tests_test_memory_LDFLAGS = -pthread
tests_test_snap_attack_SOURCES = tests/test_snap_attack.c tests/tap.h
tests_test_snap_attack_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) \
	$(CRYPTO_CFLAGS)
tests_test_snap_attack_LDADD = $(SNAPDIR_LIBS)
tests_test_qmp_SOURCES = tests/test_qmp.c tests/tap.h
tests_test_qmp_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_qmp_LDADD = $(BOOT_LIBS)
tests_test_report_SOURCES = tests/test_report.c tests/tap.h
tests_test_report_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS)
tests_test_report_LDADD = $(REPORT_LIBS)

check_PROGRAMS += tests/test_sync
tests_test_sync_SOURCES = tests/test_sync.c tests/tap.h $(SYNC_SOURCES)
tests_test_sync_LDADD = fabric/libfabric.a

# The PMI exchange alone, for contrib/bench-mpi: a stand-in launcher (the
# service without a guest) and a stand-in MPI rank.
noinst_PROGRAMS += launcher/pmi/bench/slurm-vm-pmi-standin \
	launcher/pmi/bench/slurm-vm-pmi-client
launcher_pmi_bench_slurm_vm_pmi_standin_SOURCES = \
	launcher/pmi/bench/pmi_standin.c
launcher_pmi_bench_slurm_vm_pmi_standin_LDADD = launcher/pmi/libpmi.a \
	$(PMIX_LIBS)
launcher_pmi_bench_slurm_vm_pmi_client_SOURCES = \
	launcher/pmi/bench/pmi_client.c
