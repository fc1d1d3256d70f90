# launcher/pmi/ and launcher/guest_env.c: the PMI service for the command in
# a guest, and what of the task's environment reaches it (included by the
# top Makefile.am, after the lists it extends).

PMI_SOURCES = launcher/pmi/pmi_wire.c launcher/pmi/pmi_wire.h \
	launcher/pmi/pmi_server.c launcher/pmi/pmi_server.h

launcher_slurm_vm_launch_SOURCES += launcher/guest_env.c launcher/guest_env.h \
	$(PMI_SOURCES) launcher/pmi/pmi_step.c launcher/pmi/pmi_step.h

check_PROGRAMS += tests/test_guest_env
tests_test_guest_env_SOURCES = tests/test_guest_env.c tests/tap.h \
	launcher/guest_env.c launcher/guest_env.h

INTEGRATION_TESTS += tests/t63-pmi.sh
check_PROGRAMS += tests/test_pmi
tests_test_pmi_SOURCES = tests/test_pmi.c tests/tap.h $(PMI_SOURCES)
tests_test_pmi_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/launcher/pmi
EXTRA_DIST += launcher/pmi/fuzz_pmi.c

# The service against a real MPI library, without guests or Slurm.
noinst_PROGRAMS += tests/pmi-harness
tests_pmi_harness_SOURCES = tests/pmi_harness.c $(PMI_SOURCES)
tests_pmi_harness_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/launcher/pmi
INTEGRATION_TESTS += tests/t08-pmi-mpich.sh
EXTRA_DIST += tests/mpi_check.c

check_PROGRAMS += tests/test_pmi_step
tests_test_pmi_step_SOURCES = tests/test_pmi_step.c tests/tap.h $(PMI_SOURCES) \
	launcher/pmi/pmi_step.c launcher/pmi/pmi_step.h
tests_test_pmi_step_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/launcher/pmi
tests_test_pmi_step_CFLAGS = $(AM_CFLAGS) $(PMIX_CFLAGS)
tests_test_pmi_step_LDADD = $(PMIX_LIBS)
