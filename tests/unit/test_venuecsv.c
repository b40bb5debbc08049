/*
 * test_venuecsv.c - the roll-out venue list reader (cloud/cli/venuecsv.c):
 * the header (any order, case, unknown and missing columns), each field's
 * rule with its reason, duplicates within the file, quoting, and that a bad
 * row does not stop the good ones after it.
 */
#include "test.h"

#include "venuecsv.h"

#define KEY "6e7a1cdd29b0b78fd13af4c5598feff4ef2a97166e3ca6f2e4fbfccd80505bf1"

/* Read text; fills why[] of each row ("" for a good one); returns rows. */
static int read_all(const char *text, char why[][160], struct cl_venuecsv_row *rows, int max,
		    char *open_why)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	struct cl_venuecsv *r;
	int n = 0, rc;

	if (!in)
		abort();
	rc = cl_venuecsv_open(&r, in, open_why, 256);
	if (rc) {
		fclose(in);
		return rc;
	}
	while (n < max && (rc = cl_venuecsv_next(r, &rows[n])) != 0) {
		if (rc < 0 && rc != AS_E_CSV)
			break;
		snprintf(why[n], 160, "%s", rc == 1 ? "" : rows[n].why);
		n++;
	}
	cl_venuecsv_close(r);
	fclose(in);
	return n;
}

static void test_rows(void)
{
	static const char text[] =
		"Name, VENUE_ID ,gateway_key,category,dwell,address\n"
		"\"제주 카페, 본점\",101," KEY ",Cafe,45,\"제주시 1\"\n"
		"Bar,102,,bar,,\n"
		"x,0,,,,\n"
		",103,,,,\n"
		"y,104,,bar & grill,,\n"
		"z,105,,,1441,\n"
		"w,106,abc,,,\n"
		"dup,101,,,,\n"
		"k2,107," KEY ",,,\n"
		"extra,108,,,,,one too many\n"
		"last,109,,,,\n";
	struct cl_venuecsv_row rows[16];
	char why[16][160], open_why[256];
	int n = read_all(text, why, rows, 16, open_why);

	if (!CHECK_EQ_INT(n, 11))
		return;
	CHECK_STR(why[0], "");
	CHECK_EQ_INT(rows[0].venue.id, 101);
	CHECK_STR(rows[0].venue.name, "제주 카페, 본점");
	CHECK_STR(rows[0].venue.category, "cafe"); /* folded */
	CHECK_EQ_INT(rows[0].venue.dwell_minutes, 45);
	CHECK_EQ_INT(rows[0].has_gateway, 1);
	CHECK_EQ_INT(rows[0].line, 2);
	CHECK_STR(why[1], "");
	CHECK_EQ_INT(rows[1].venue.dwell_minutes, 60); /* default */
	CHECK_EQ_INT(rows[1].has_gateway, 0);
	CHECK(strstr(why[2], "venue_id '0'") != NULL);
	CHECK(strstr(why[3], "venue 103: the name is empty") != NULL);
	CHECK(strstr(why[4], "category 'bar & grill'") != NULL);
	CHECK(strstr(why[5], "dwell '1441'") != NULL);
	CHECK(strstr(why[6], "gateway_key is not the 64 hex digits") != NULL);
	CHECK(strstr(why[7], "venue 101 is listed twice") != NULL);
	CHECK(strstr(why[8], "this gateway_key is given to an earlier row") != NULL);
	CHECK(strstr(why[9], "7 fields, but the header names 6 columns") != NULL);
	CHECK_STR(why[10], "");
	CHECK_EQ_INT(rows[10].line, 12);
}

static void test_headers(void)
{
	struct cl_venuecsv_row rows[2];
	char why[2][160], open_why[256];

	CHECK_RC(read_all("", why, rows, 2, open_why), AS_E_CSV);
	CHECK(strstr(open_why, "empty") != NULL);
	CHECK_RC(read_all("venue_id,title\n1,x\n", why, rows, 2, open_why), AS_E_CSV);
	CHECK(strstr(open_why, "unknown column 'title'") != NULL);
	CHECK_RC(read_all("venue_id,address\n1,x\n", why, rows, 2, open_why), AS_E_CSV);
	CHECK(strstr(open_why, "needs the columns venue_id and name") != NULL);
	CHECK_RC(read_all("name,name,venue_id\n", why, rows, 2, open_why), AS_E_CSV);
	CHECK(strstr(open_why, "named twice") != NULL);
	/* A byte-order mark and CRLF, as spreadsheets write them. */
	CHECK_EQ_INT(read_all("\xef\xbb\xbfvenue_id,name\r\n7,Seven\r\n", why, rows, 2, open_why),
		     1);
	CHECK_STR(why[0], "");
	CHECK_STR(rows[0].venue.name, "Seven");
}

int main(void)
{
	TEST_RUN(test_rows);
	TEST_RUN(test_headers);
	return TEST_DONE();
}
