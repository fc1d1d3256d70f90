/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef SLURM_VM_HELPER_REPORT_H
#define SLURM_VM_HELPER_REPORT_H

/*
 * "report FORMAT PATH DIR SUITE START NTASKS": gathers the rank records
 * the step's launchers left in DIR (rank-R.json, R from 0 to NTASKS - 1;
 * a missing or unreadable one is a rank that left no result), writes the
 * report (FORMAT junit or tap) to PATH through a new file renamed into
 * place, and removes DIR. Prints what it wrote, or why not; returns the
 * exit status.
 */
int helper_report(int ac, char **av);

#endif
