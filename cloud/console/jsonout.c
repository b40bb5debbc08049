/*
 * jsonout.c - JSON values for API answers (jsonout.h).  Pure, any thread.
 */
#include "jsonout.h"

#include "anshim/parse.h"
#include "anshim/strbuf.h"

json_t *cs_json_text(const char *s)
{
	struct as_strbuf b = {0};
	json_t *j;

	as_strbuf_add_clean(&b, s, 0);
	j = b.failed ? NULL : json_string(b.len ? b.p : "");
	as_strbuf_free(&b);
	return j;
}

json_t *cs_json_time(int64_t t)
{
	char buf[32];

	return t ? json_string(as_format_time(buf, t)) : json_null();
}
