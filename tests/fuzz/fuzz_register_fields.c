/*
 * fuzz_register_fields.c - register entries as staff type them at the
 * prompt: the input is split at '\n' into date, time, name, phone,
 * headcount and exit time; each goes through gw_register_check_field and
 * the whole through gw_register_validate (clock FUZZ_NOW, zone
 * Asia/Seoul).
 *
 * Properties: every answer is 0 or a documented error with a reason; an
 * entry that validates has each of its fields valid on its own, lies
 * within the time rules, and its reason text is empty; a rejected entry
 * is zeroed.
 */
#include "fuzz.h"

#include "anshim/error.h"
#include "anshim/record.h"
#include "register.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *f[GW_REG_FIELD_COUNT] = {NULL};
	struct gw_register_entry e, zero;
	char why[GW_REGISTER_WHY_MAX];
	char *text = fuzz_strndup(data, size), *p = text;
	int rc, ok_fields = 1;

	for (int i = 0; i < GW_REG_FIELD_COUNT && p; i++) {
		f[i] = p;
		p = strchr(p, '\n');
		if (p)
			*p++ = '\0';
	}
	for (int i = 0; i < GW_REG_FIELD_COUNT; i++) {
		rc = gw_register_check_field((enum gw_register_field)i, f[i], why, sizeof why);
		if (rc != 0 && rc != AS_E_TIME && rc != AS_E_PHONE && rc != AS_E_FIELD)
			fuzz_fail("field %d answered %d", i, rc);
		if (rc != 0 && !why[0])
			fuzz_fail("field %d rejected without a reason", i);
		if (rc != 0)
			ok_fields = 0;
	}
	rc = gw_register_validate(&e, f[GW_REG_DATE], f[GW_REG_TIME], f[GW_REG_NAME],
				  f[GW_REG_PHONE], f[GW_REG_HEADCOUNT], f[GW_REG_EXIT_TIME],
				  FUZZ_NOW, FUZZ_RETENTION, why, sizeof why);
	memset(&zero, 0, sizeof zero);
	if (rc == 0) {
		if (!ok_fields)
			fuzz_fail("entry valid while one of its fields is not");
		if (why[0])
			fuzz_fail("valid entry with a reason");
		if (e.entry_time > FUZZ_NOW + GW_REGISTER_SKEW_MAX ||
		    e.entry_time < FUZZ_NOW - FUZZ_RETENTION)
			fuzz_fail("entry at %lld accepted", (long long)e.entry_time);
		if (e.exit_time != 0 && e.exit_time <= e.entry_time)
			fuzz_fail("exit before entry accepted");
		if (e.headcount < 1 || e.headcount > AS_HEADCOUNT_MAX)
			fuzz_fail("headcount %u accepted", e.headcount);
	} else {
		if (rc != AS_E_TIME && rc != AS_E_PHONE && rc != AS_E_FIELD)
			fuzz_fail("entry answered %d", rc);
		if (!why[0])
			fuzz_fail("entry rejected without a reason");
		if (memcmp(&e, &zero, sizeof e) != 0)
			fuzz_fail("rejected entry not zeroed");
	}
	free(text);
	return 0;
}
