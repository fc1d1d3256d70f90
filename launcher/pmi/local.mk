# launcher/pmi/ and launcher/guest_env.c: the PMI service for the command in
# a guest, and what of the task's environment reaches it (included by the
# top Makefile.am, after the lists it extends).

launcher_slurm_vm_launch_SOURCES += launcher/guest_env.c launcher/guest_env.h

check_PROGRAMS += tests/test_guest_env
tests_test_guest_env_SOURCES = tests/test_guest_env.c tests/tap.h \
	launcher/guest_env.c launcher/guest_env.h

INTEGRATION_TESTS += tests/t63-pmi.sh
