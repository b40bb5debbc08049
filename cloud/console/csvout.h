/*
 * csvout.h - writing CSV (RFC 4180) that a spreadsheet opens safely: a
 * cell that starts with '=', '+', '-' or '@', or that holds a tab or a
 * carriage return, gets a leading "'" so it is shown as text and never run
 * as a formula (CSV injection); a cell holding a comma, a quote, a line
 * break or that leading "'" is quoted, with quotes doubled.
 */
#ifndef CS_CSVOUT_H
#define CS_CSVOUT_H

#include "anshim/strbuf.h"

/* Append one cell (s: UTF-8 text, NULL is empty), preceded by a comma
 * unless first.  Any thread, on its own buffer. */
void cs_csv_cell(struct as_strbuf *b, const char *s, int first);

/* End a row ("\r\n"). */
void cs_csv_row_end(struct as_strbuf *b);

#endif
