/*
 * jsonout.h - JSON values the API handlers answer with, made one way:
 * untrusted text (registry names, audit log text) cleaned of control
 * characters and ill-formed UTF-8, and times in ISO 8601 with the UTC
 * offset of the process's zone (TZ), as the CLI prints them.
 */
#ifndef CS_JSONOUT_H
#define CS_JSONOUT_H

#include <stdint.h>

#include <jansson.h>

/* A new JSON string of s cleaned ('?' for what is not text); NULL on
 * allocation failure (jansson's packers then fail too). */
json_t *cs_json_text(const char *s);

/* A new JSON string "2026-03-02T12:40:00+09:00" for t, or JSON null when t
 * is 0 (never). */
json_t *cs_json_time(int64_t t);

#endif
