/*
 * commands.h - anshim-cloud's subcommands, one function each, called by
 * the dispatcher in anshim-cloud.c with the whole argv (argv[1] is the
 * command).  Each returns the process exit status.  Single-threaded.
 */
#ifndef CL_COMMANDS_H
#define CL_COMMANDS_H

int cl_cmd_enroll(int argc, char **argv);   /* registry.c */
int cl_cmd_revoke(int argc, char **argv);   /* registry.c */
int cl_cmd_stats(int argc, char **argv);    /* registry.c */
int cl_cmd_purge(int argc, char **argv);    /* registry.c */
int cl_cmd_policy(int argc, char **argv);   /* policy_cmd.c */
int cl_cmd_audit(int argc, char **argv);    /* audit_cmd.c */
int cl_cmd_trace(int argc, char **argv);    /* trace_cmd.c */
int cl_cmd_poster(int argc, char **argv);   /* poster.c */
int cl_cmd_gateways(int argc, char **argv); /* gateways_cmd.c */
int cl_cmd_user(int argc, char **argv);     /* user_cmd.c */

/* enroll --requests PATH (enrolreq_cmd.c): mode 0 asks on the terminal,
 * 'A' approves all, 'R' rejects all, 'l' lists. */
int cl_enroll_requests(const char *path, int mode, int argc, char **argv);

#endif
