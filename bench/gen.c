/*
 * gen.c - the benchmarks' synthetic world (model and contract in gen.h).
 */
#include "gen.h"

#include "anshim/error.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define KM2_PER_VENUE 0.037     /* Jeju: about 1,850 km2 of land use, 50,000 venues */
#define CELL_KM 1.5             /* "near home": the 3x3 cells around home */
#define TOWN_VENUES 250         /* one town per this many venues */
#define TOWN_SIGMA_KM 1.0
#define GW_PER_DAY 300          /* expected visits a day per gateway */
#define GW_MAX 8
#define REFERENCE_VENUES 50000  /* Jeju */
#define TOP_RANK 20

/* Small venues first (shares), then the big ones (the top 1 %). */
const struct gen_category gen_categories[] = {
	{"restaurant", 60, 11, 22},  {"cafe", 45, 8, 22},       {"shop", 30, 9, 21},
	{"bar", 90, 18, 26},         {"gym", 75, 6, 23},        {"karaoke", 120, 14, 28},
	{"public office", 30, 9, 18}, {"clinic", 40, 9, 18},    {"church", 90, 9, 21},
	{"market", 60, 8, 21},       {"tourist site", 90, 9, 18}, {"transit hall", 30, 5, 24},
};
const size_t gen_n_categories = sizeof gen_categories / sizeof gen_categories[0];
static const double small_share[] = {0.30, 0.22, 0.15, 0.08, 0.05, 0.05, 0.05, 0.05, 0.05};
#define N_SMALL (sizeof small_share / sizeof small_share[0])
#define N_BIG 3

void gen_params_init(struct gen_params *p, int64_t visits)
{
	memset(p, 0, sizeof *p);
	p->seed = 1;
	p->visits = visits;
	p->days = 28;
	p->zipf = 0.8;
	p->top_rank = TOP_RANK;
	p->batch_max = 500;
	p->batch_window = 86400;
}

/* ---- random numbers ------------------------------------------------------ */

uint64_t gen_splitmix(uint64_t *x)
{
	uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));

	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	return z ^ (z >> 31);
}

static double u01(uint64_t *x)
{
	return (double)(gen_splitmix(x) >> 11) / 9007199254740992.0;
}

static uint64_t below(uint64_t *x, uint64_t n)
{
	return n ? gen_splitmix(x) % n : 0;
}

static double normal(uint64_t *x)
{
	double u = u01(x), w = u01(x);

	if (u < 1e-300)
		u = 1e-300;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * w);
}

/* Index i with cdf[i-1] <= x < cdf[i], x uniform in [0, cdf[n-1]). */
static size_t pick(const double *cdf, size_t n, uint64_t *x)
{
	double t = u01(x) * cdf[n - 1];
	size_t lo = 0, hi = n - 1;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cdf[mid] <= t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static uint64_t stream(uint64_t seed, uint64_t what)
{
	uint64_t x = seed ^ (what * UINT64_C(0xd6e8feb86659fd93));

	return gen_splitmix(&x);
}

/* ---- identities ---------------------------------------------------------- */

static void fill_bytes(uint8_t *out, size_t n, uint64_t x)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = gen_splitmix(&x);

		memcpy(out + i, &r, n - i < 8 ? n - i : 8);
	}
}

void gen_person_pid(const struct gen_world *w, uint32_t person, uint8_t pid[AS_PID_LEN])
{
	fill_bytes(pid, AS_PID_LEN, stream(w->p.seed, UINT64_C(0x1000000000) + person));
}

void gen_gateway_id(const struct gen_world *w, uint32_t gw, uint8_t id[AS_GWID_LEN])
{
	fill_bytes(id, AS_GWID_LEN, stream(w->p.seed, UINT64_C(0x2000000000) + gw));
}

static void person_capsule(const struct gen_world *w, uint32_t person, uint8_t *c)
{
	fill_bytes(c, AS_CAPSULE_LEN, stream(w->p.seed, UINT64_C(0x3000000000) + person));
}

void gen_hex(char *out, const uint8_t *b, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- the map ------------------------------------------------------------- */

struct grid {
	size_t side;            /* cells per axis */
	size_t *off;            /* cell c's near list: ven[off[c] .. off[c+1]) */
	uint32_t *ven;
	double *cdf;            /* cumulative weights, per cell */
	double *global_cdf;     /* over all venues */
};

static size_t cell_of(const struct grid *g, double x, double y)
{
	size_t cx = (size_t)(x / CELL_KM), cy = (size_t)(y / CELL_KM);

	if (cx >= g->side)
		cx = g->side - 1;
	if (cy >= g->side)
		cy = g->side - 1;
	return cy * g->side + cx;
}

static void grid_free(struct grid *g)
{
	free(g->off);
	free(g->ven);
	free(g->cdf);
	free(g->global_cdf);
}

static int grid_make(struct grid *g, const struct gen_world *w)
{
	size_t nv = w->n_venues, nc, *count = NULL, *start = NULL, *order = NULL, total = 0;
	int rc = -ENOMEM;

	memset(g, 0, sizeof *g);
	g->side = (size_t)ceil(w->side / CELL_KM);
	if (g->side == 0)
		g->side = 1;
	nc = g->side * g->side;
	count = calloc(nc + 1, sizeof *count);
	start = calloc(nc + 1, sizeof *start);
	order = calloc(nv, sizeof *order);
	g->off = calloc(nc + 1, sizeof *g->off);
	g->global_cdf = malloc(nv * sizeof *g->global_cdf);
	if (!count || !start || !order || !g->off || !g->global_cdf)
		goto out;
	for (size_t i = 0; i < nv; i++) {
		count[cell_of(g, w->venues[i].x, w->venues[i].y)]++;
		g->global_cdf[i] = (i ? g->global_cdf[i - 1] : 0) + w->venues[i].weight;
	}
	for (size_t c = 0; c < nc; c++)
		start[c + 1] = start[c] + count[c];
	memset(count, 0, (nc + 1) * sizeof *count);
	for (size_t i = 0; i < nv; i++) {
		size_t c = cell_of(g, w->venues[i].x, w->venues[i].y);

		order[start[c] + count[c]++] = i;
	}
	/* Each cell's near list: the venues of the 3x3 cells around it. */
	for (size_t c = 0; c < nc; c++) {
		size_t cx = c % g->side, cy = c / g->side;

		g->off[c] = total;
		for (size_t dy = cy ? cy - 1 : 0; dy <= cy + 1 && dy < g->side; dy++)
			for (size_t dx = cx ? cx - 1 : 0; dx <= cx + 1 && dx < g->side; dx++)
				total += count[dy * g->side + dx];
	}
	g->off[nc] = total;
	g->ven = malloc((total ? total : 1) * sizeof *g->ven);
	g->cdf = malloc((total ? total : 1) * sizeof *g->cdf);
	if (!g->ven || !g->cdf)
		goto out;
	for (size_t c = 0; c < nc; c++) {
		size_t cx = c % g->side, cy = c / g->side, at = g->off[c];
		double sum = 0;

		for (size_t dy = cy ? cy - 1 : 0; dy <= cy + 1 && dy < g->side; dy++)
			for (size_t dx = cx ? cx - 1 : 0; dx <= cx + 1 && dx < g->side; dx++) {
				size_t n = dy * g->side + dx;

				for (size_t k = start[n]; k < start[n] + count[n]; k++) {
					g->ven[at] = (uint32_t)order[k];
					sum += w->venues[order[k]].weight;
					g->cdf[at++] = sum;
				}
			}
	}
	rc = 0;
out:
	free(count);
	free(start);
	free(order);
	return rc;
}

/* A venue index near cell c by popularity (anywhere if the cell has none). */
static uint32_t pick_near(const struct grid *g, size_t nv, size_t c, uint64_t *x)
{
	size_t n = g->off[c + 1] - g->off[c];

	if (n == 0)
		return (uint32_t)pick(g->global_cdf, nv, x);
	return g->ven[g->off[c] + pick(g->cdf + g->off[c], n, x)];
}

/* A point: in a town (chosen by town_cdf) with probability p_town, else
 * anywhere. */
static void place(double side, const double (*towns)[2], const double *town_cdf, size_t nt,
		  double p_town, uint64_t *x, double *px, double *py)
{
	if (u01(x) < p_town) {
		size_t t = pick(town_cdf, nt, x);

		*px = towns[t][0] + TOWN_SIGMA_KM * normal(x);
		*py = towns[t][1] + TOWN_SIGMA_KM * normal(x);
	} else {
		*px = u01(x) * side;
		*py = u01(x) * side;
	}
	if (*px < 0)
		*px = 0;
	if (*py < 0)
		*py = 0;
	if (*px >= side)
		*px = side * 0.999999;
	if (*py >= side)
		*py = side * 0.999999;
}

/* ---- generation ---------------------------------------------------------- */

static int cmp_visit(const void *a, const void *b)
{
	const struct gen_visit *x = a, *y = b;

	if (x->gw != y->gw)
		return x->gw < y->gw ? -1 : 1;
	if (x->extra != y->extra)
		return x->extra < y->extra ? -1 : 1;
	if (x->entry != y->entry)
		return x->entry < y->entry ? -1 : 1;
	if (x->person != y->person)
		return x->person < y->person ? -1 : 1;
	if (x->exit_delta != y->exit_delta)
		return x->exit_delta < y->exit_delta ? -1 : 1;
	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	return (x->headcount > y->headcount) - (x->headcount < y->headcount);
}

static const struct gen_world *sort_world; /* for cmp_batch (qsort has no context) */

static int cmp_batch(const void *a, const void *b)
{
	const struct gen_batch *x = a, *y = b;
	int xe = sort_world->v[x->first].extra, ye = sort_world->v[y->first].extra;

	if (xe != ye)
		return xe < ye ? -1 : 1;
	if (x->send_time != y->send_time)
		return x->send_time < y->send_time ? -1 : 1;
	return (x->first > y->first) - (x->first < y->first);
}

static int make_venues(struct gen_world *w, uint64_t *x)
{
	size_t nv = w->n_venues, nt = nv / TOWN_VENUES ? nv / TOWN_VENUES : 1;
	size_t ref = nv > REFERENCE_VENUES ? nv : REFERENCE_VENUES;
	size_t *rank = malloc(nv * sizeof *rank), n_big = ref / 100;
	double (*towns)[2] = malloc(nt * sizeof *towns), *town_cdf = malloc(nt * sizeof *town_cdf);
	double small_cdf[N_SMALL], sum = 0, per_day = (double)w->p.visits / (double)w->p.days;
	size_t n_gw = 0;

	w->venues = calloc(nv, sizeof *w->venues);
	if (!rank || !towns || !town_cdf || !w->venues) {
		free(rank);
		free(towns);
		free(town_cdf);
		return -ENOMEM;
	}
	for (size_t k = 0; k < N_SMALL; k++)
		small_cdf[k] = (k ? small_cdf[k - 1] : 0) + small_share[k];
	for (size_t t = 0; t < nt; t++) {
		towns[t][0] = (0.1 + 0.8 * u01(x)) * w->side;
		towns[t][1] = (0.1 + 0.8 * u01(x)) * w->side;
		town_cdf[t] = (t ? town_cdf[t - 1] : 0) + 1.0 / (double)(t + 1);
	}
	/* Popularity: the venues are a systematic sample of a Jeju-size
	 * ranking of REFERENCE_VENUES (or more): venue i takes a rank in the
	 * i-th of nv equal slices of it, so that venue sizes follow the same
	 * distribution at every scale; ranks above top_rank (default
	 * TOP_RANK) count as top_rank (then no venue gets more than about
	 * 3,000-5,000 check-ins a day at Jeju's density; the skewed world
	 * lowers it and raises the exponent).  Venue positions are random, so the order does not
	 * matter. */
	for (size_t i = 0; i < nv; i++)
		rank[i] = (size_t)(((double)i + u01(x)) * (double)ref / (double)nv);
	for (size_t i = 0; i < nv; i++) {
		struct gen_venue *v = &w->venues[i];

		place(w->side, (const double (*)[2])towns, town_cdf, nt, 0.75, x, &v->x, &v->y);
		v->weight = pow((double)(rank[i] + 1 < (size_t)w->p.top_rank ? (size_t)w->p.top_rank
									    : rank[i] + 1),
				-w->p.zipf);
		sum += v->weight;
		if (rank[i] < n_big)
			v->cat = (uint8_t)(N_SMALL + below(x, N_BIG));
		else
			v->cat = (uint8_t)pick(small_cdf, N_SMALL, x);
	}
	for (size_t i = 0; i < nv; i++) {
		struct gen_venue *v = &w->venues[i];
		double expect = v->weight / sum * per_day;
		size_t n = (size_t)ceil(expect / GW_PER_DAY);

		v->n_gw = (uint16_t)(n < 1 ? 1 : n > GW_MAX ? GW_MAX : n);
		v->first_gw = (uint32_t)n_gw;
		n_gw += v->n_gw;
	}
	w->n_gw = n_gw;
	w->gw_venue = malloc(n_gw * sizeof *w->gw_venue);
	if (w->gw_venue)
		for (size_t i = 0; i < nv; i++)
			for (size_t k = 0; k < w->venues[i].n_gw; k++)
				w->gw_venue[w->venues[i].first_gw + k] = (uint32_t)i + 1;
	free(rank);
	free(towns);
	free(town_cdf);
	return w->gw_venue ? 0 : -ENOMEM;
}

int gen_world_make(struct gen_world *w, const struct gen_params *p)
{
	struct grid g;
	uint64_t xv = stream(p->seed, 1), xp = stream(p->seed, 2), xs = stream(p->seed, 3);
	size_t np, nmain, nextra, nb = 0;
	double *act_cdf = NULL, (*towns)[2] = NULL, *town_cdf = NULL;
	uint32_t *home = NULL;
	size_t nt;
	uint8_t *seen = NULL;
	int rc;

	memset(w, 0, sizeof *w);
	memset(&g, 0, sizeof g);
	w->p = *p;
	if (w->p.venues <= 0) {
		w->p.venues = p->visits / p->days / 26;
		if (w->p.venues < 20)
			w->p.venues = 20;
	}
	if (w->p.people <= 0) {
		w->p.people = (int64_t)((double)p->visits / (double)p->days / 1.5);
		if (w->p.people < 100)
			w->p.people = 100;
	}
	w->n_venues = (size_t)w->p.venues;
	w->side = sqrt((double)w->n_venues * KM2_PER_VENUE);
	np = (size_t)w->p.people;
	nmain = (size_t)p->visits;
	nextra = (size_t)(p->visits / p->days);
	w->n_visits = nmain + nextra;
	w->n_main = nmain;

	rc = make_venues(w, &xv);
	if (rc)
		goto out;
	rc = -ENOMEM;
	if (grid_make(&g, w))
		goto out;
	{
		/* Homes cluster in towns of their own (where people live is
		 * not exactly where venues are). */
		uint64_t xt = stream(p->seed, 4);

		nt = w->n_venues / TOWN_VENUES ? w->n_venues / TOWN_VENUES : 1;
		towns = malloc(nt * sizeof *towns);
		town_cdf = malloc(nt * sizeof *town_cdf);
		if (!towns || !town_cdf)
			goto out;
		for (size_t t = 0; t < nt; t++) {
			towns[t][0] = (0.1 + 0.8 * u01(&xt)) * w->side;
			towns[t][1] = (0.1 + 0.8 * u01(&xt)) * w->side;
			town_cdf[t] = (t ? town_cdf[t - 1] : 0) + 1.0 / (double)(t + 1);
		}
	}
	act_cdf = malloc(np * sizeof *act_cdf);
	home = malloc(np * sizeof *home);
	seen = calloc(np, 1);
	w->v = calloc(w->n_visits, sizeof *w->v);
	w->seq = calloc(w->n_visits, sizeof *w->seq);
	w->batches = calloc(w->n_visits, sizeof *w->batches);
	if (!act_cdf || !home || !seen || !w->v || !w->seq || !w->batches)
		goto out;
	for (size_t i = 0; i < np; i++) {
		double hx, hy;

		act_cdf[i] = (i ? act_cdf[i - 1] : 0) + exp(0.6 * normal(&xp));
		place(w->side, (const double (*)[2])towns, town_cdf, nt, 0.7, &xp, &hx, &hy);
		home[i] = (uint32_t)cell_of(&g, hx, hy);
	}
	for (size_t i = 0; i < w->n_visits; i++) {
		struct gen_visit *v = &w->v[i];
		uint32_t person = (uint32_t)pick(act_cdf, np, &xs), venue;
		const struct gen_venue *ve;
		const struct gen_category *cat;
		double r = u01(&xs), span;
		int64_t day;

		v->extra = i >= nmain;
		day = v->extra ? p->days : (int64_t)below(&xs, (uint64_t)p->days);
		if (r < 0.40) {
			/* One of three favourites: fixed per person. */
			uint64_t xf = stream(p->seed, (UINT64_C(5) << 40) + (uint64_t)person * 3 +
							  below(&xs, 3));

			venue = pick_near(&g, w->n_venues, home[person], &xf);
		} else if (r < 0.85) {
			venue = pick_near(&g, w->n_venues, home[person], &xs);
		} else {
			venue = (uint32_t)pick(g.global_cdf, w->n_venues, &xs);
		}
		ve = &w->venues[venue];
		cat = &gen_categories[ve->cat];
		span = (double)(cat->close - cat->open) * 3600 - (double)cat->dwell * 30;
		if (span < 1800)
			span = 1800;
		v->person = person;
		v->gw = ve->first_gw + (uint32_t)below(&xs, ve->n_gw);
		v->entry = GEN_START + day * GEN_DAY + (int64_t)cat->open * 3600 +
			   (int64_t)((u01(&xs) + u01(&xs)) / 2 * span);
		r = u01(&xs);
		if (r < 0.0005)
			v->exit_delta = 0;           /* exit recorded at entry: empty */
		else if (r < 0.20)
			v->exit_delta = (int32_t)((double)cat->dwell * 60 * (0.3 + 1.5 * u01(&xs)));
		else
			v->exit_delta = -1;
		v->headcount = u01(&xs) < 0.95 ? 1 : (uint16_t)(2 + below(&xs, 3));
		r = u01(&xs);
		v->kind = r < 0.70 ? AS_REC_PASS : r < 0.95 ? AS_REC_CARD : AS_REC_MANUAL;
		v->zero_pid = v->kind == AS_REC_MANUAL && u01(&xs) < 0.02;
		if (!v->extra && !v->zero_pid)
			seen[person] = 1;
	}
	for (size_t i = 0; i < np; i++)
		w->n_people_seen += seen[i];

	qsort(w->v, w->n_visits, sizeof *w->v, cmp_visit);
	for (size_t i = 0; i < w->n_visits; i++) {
		const struct gen_visit *v = &w->v[i];
		int same = i > 0 && v->gw == w->v[i - 1].gw;
		int64_t win = (v->entry - GEN_START) / p->batch_window;

		w->seq[i] = same ? w->seq[i - 1] + 1 : 1;
		if (!same || v->extra != w->v[i - 1].extra ||
		    w->batches[nb - 1].n == (uint32_t)p->batch_max ||
		    win != (w->v[i - 1].entry - GEN_START) / p->batch_window) {
			w->batches[nb].first = i;
			w->batches[nb].n = 0;
			/* Sent at the end of the window, each gateway at its own
			 * second. */
			w->batches[nb].send_time = GEN_START + (win + 1) * p->batch_window +
						   (int64_t)(v->gw % 60);
			nb++;
		}
		w->batches[nb - 1].n++;
	}
	w->n_batches = nb;
	sort_world = w;
	qsort(w->batches, nb, sizeof *w->batches, cmp_batch);
	sort_world = NULL;
	for (size_t b = 0; b < nb && !w->v[w->batches[b].first].extra; b++)
		w->n_main_batches = b + 1;
	rc = 0;
out:
	grid_free(&g);
	free(act_cdf);
	free(home);
	free(seen);
	free(towns);
	free(town_cdf);
	if (rc)
		gen_world_free(w);
	return rc;
}

void gen_world_free(struct gen_world *w)
{
	free(w->venues);
	free(w->gw_venue);
	free(w->v);
	free(w->seq);
	free(w->batches);
	memset(w, 0, sizeof *w);
}

/* ---- records and registry ---------------------------------------------- */

uint16_t gen_visit_dwell(const struct gen_world *w, size_t i)
{
	return gen_categories[w->venues[w->gw_venue[w->v[i].gw] - 1].cat].dwell;
}

void gen_fill_record(const struct gen_world *w, size_t i, struct as_record *r,
		     uint8_t pid[AS_PID_LEN])
{
	const struct gen_visit *v = &w->v[i];

	memset(r, 0, sizeof *r);
	r->kind = v->kind;
	r->seq = w->seq[i];
	r->entry_time = v->entry;
	r->exit_time = v->exit_delta >= 0 ? v->entry + v->exit_delta : 0;
	r->mono_ms = (uint64_t)(v->entry - GEN_START) * 1000;
	fill_bytes(r->boot_id, AS_BOOT_ID_LEN, stream(w->p.seed, UINT64_C(0x4000000000) + v->gw));
	r->headcount = v->headcount;
	if (v->zero_pid)
		memset(pid, 0, AS_PID_LEN);
	else
		gen_person_pid(w, v->person, pid);
	if (v->kind == AS_REC_MANUAL) {
		/* A paper entry is sealed afresh each time: a new capsule. */
		r->entered_by = 1000;
		fill_bytes(r->capsule, AS_CAPSULE_LEN, stream(w->p.seed, UINT64_C(0x5000000000) + i));
	} else {
		memcpy(r->pid, pid, AS_PID_LEN);
		r->credential_expires = GEN_START + 365 * GEN_DAY;
		person_capsule(w, v->person, r->capsule);
	}
}

void gen_gateway_keypair(const struct gen_world *w, uint32_t gw, uint8_t pk[AS_SIGN_PK_LEN],
			 uint8_t sk[AS_SIGN_SK_LEN])
{
	uint8_t seed[crypto_sign_SEEDBYTES], sk_buf[AS_SIGN_SK_LEN];

	fill_bytes(seed, sizeof seed, stream(w->p.seed, UINT64_C(0x6000000000) + gw));
	crypto_sign_seed_keypair(pk, sk ? sk : sk_buf, seed);
	sodium_memzero(sk_buf, sizeof sk_buf);
}

void gen_gateway_entry(const struct gen_world *w, uint32_t gw, struct cl_gateway *g,
		       struct cl_venue *v)
{
	uint32_t venue = w->gw_venue[gw];
	const struct gen_category *cat = &gen_categories[w->venues[venue - 1].cat];

	memset(g, 0, sizeof *g);
	memset(v, 0, sizeof *v);
	gen_gateway_id(w, gw, g->gw_id);
	gen_gateway_keypair(w, gw, g->pk, NULL);
	g->venue_id = venue;
	g->enrolled_at = GEN_START - GEN_DAY;
	v->id = venue;
	snprintf(v->name, sizeof v->name, "%s %u", cat->name, (unsigned)venue);
	snprintf(v->address, sizeof v->address, "%u Bench-ro, Jeju", (unsigned)venue);
	snprintf(v->category, sizeof v->category, "%s", cat->name);
	v->dwell_minutes = cat->dwell;
}

int gen_enroll(struct cl_store *s, const struct gen_world *w)
{
	for (size_t g = 0; g < w->n_gw; g++) {
		struct cl_gateway gw;
		struct cl_venue v;
		int rc;

		gen_gateway_entry(w, (uint32_t)g, &gw, &v);
		rc = cl_store_enroll(s, &gw, &v);
		if (rc)
			return rc;
	}
	return 0;
}

/* ---- CSV ------------------------------------------------------------------ */

static void uuid_text(char out[37], const uint8_t pid[AS_PID_LEN])
{
	char hex[2 * AS_PID_LEN + 1];

	gen_hex(hex, pid, AS_PID_LEN);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
		 hex + 20);
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[1024];

	snprintf(path, sizeof path, "%s/%s", dir, name);
	return fopen(path, "w");
}

static int close_checked(FILE *f, int rc)
{
	if (ferror(f) && !rc)
		rc = -EIO;
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

int gen_write_csv(const struct gen_world *w, const char *dir)
{
	FILE *f;
	uint8_t *person_seen = NULL, pid[AS_PID_LEN], cap[AS_CAPSULE_LEN];
	char u[37], hex[2 * AS_CAPSULE_LEN + 1];
	int rc = 0;

	if (!(f = open_in(dir, "venues.csv")))
		return -errno;
	for (size_t i = 0; i < w->n_venues; i++) {
		struct cl_gateway g;
		struct cl_venue v;

		gen_gateway_entry(w, w->venues[i].first_gw, &g, &v);
		fprintf(f, "%u,\"%s\",\"%s\",\"%s\",%u\n", (unsigned)v.id, v.name, v.address,
			v.category, (unsigned)v.dwell_minutes);
	}
	rc = close_checked(f, rc);
	if (rc || !(f = open_in(dir, "gateways.csv")))
		return rc ? rc : -errno;
	for (size_t i = 0; i < w->n_gw; i++) {
		struct cl_gateway g;
		struct cl_venue v;
		char pk[2 * AS_SIGN_PK_LEN + 1];

		gen_gateway_entry(w, (uint32_t)i, &g, &v);
		gen_hex(hex, g.gw_id, AS_GWID_LEN);
		gen_hex(pk, g.pk, AS_SIGN_PK_LEN);
		fprintf(f, "%zu,\\x%s,\\x%s,%u\n", i + 1, hex, pk, (unsigned)g.venue_id);
	}
	rc = close_checked(f, rc);
	if (rc || !(f = open_in(dir, "people.csv")))
		return rc ? rc : -errno;
	person_seen = calloc((size_t)w->p.people, 1);
	if (!person_seen) {
		fclose(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < w->n_visits; i++)
		if (!w->v[i].extra && !w->v[i].zero_pid)
			person_seen[w->v[i].person] = 1;
	for (uint32_t p = 0; p < (uint32_t)w->p.people; p++) {
		if (!person_seen[p])
			continue;
		gen_person_pid(w, p, pid);
		person_capsule(w, p, cap);
		uuid_text(u, pid);
		gen_hex(hex, cap, AS_CAPSULE_LEN);
		fprintf(f, "%s,\\x%s\n", u, hex);
	}
	free(person_seen);
	rc = close_checked(f, rc);
	if (rc || !(f = open_in(dir, "visits.csv")))
		return rc ? rc : -errno;
	for (size_t b = 0; b < w->n_main_batches; b++) {
		const struct gen_batch *br = &w->batches[b];

		for (size_t i = br->first; i < br->first + br->n; i++) {
			const struct gen_visit *v = &w->v[i];

			if (v->zero_pid)
				memset(pid, 0, sizeof pid);
			else
				gen_person_pid(w, v->person, pid);
			uuid_text(u, pid);
			fprintf(f, "%s,%lld,%lld,%llu,%u,%u,%u,%u,0\n", u, (long long)v->entry,
				v->exit_delta >= 0 ? (long long)(v->entry + v->exit_delta) : 0LL,
				(unsigned long long)w->seq[i], (unsigned)w->gw_venue[v->gw],
				(unsigned)v->gw + 1, (unsigned)v->headcount, (unsigned)v->kind);
		}
	}
	return close_checked(f, rc);
}

/* ---- cases ---------------------------------------------------------------- */

size_t gen_sample_cases(const struct gen_world *w, size_t n, unsigned lo, unsigned hi,
			uint32_t *out, unsigned *visits, int64_t *from, int64_t *to)
{
	int64_t d0 = w->p.days >= 21 ? w->p.days - 21 : 0, d1 = d0 + 14;
	uint32_t *count = calloc((size_t)w->p.people, sizeof *count), *cand;
	size_t nc = 0, got = 0;
	uint64_t x = stream(w->p.seed, 6);

	if (d1 > w->p.days)
		d1 = w->p.days;
	*from = GEN_START + d0 * GEN_DAY;
	*to = GEN_START + d1 * GEN_DAY - 1;
	if (!count)
		return 0;
	for (size_t i = 0; i < w->n_visits; i++) {
		const struct gen_visit *v = &w->v[i];

		if (!v->extra && !v->zero_pid && v->entry >= *from && v->entry <= *to)
			count[v->person]++;
	}
	cand = malloc((size_t)w->p.people * sizeof *cand);
	if (!cand) {
		free(count);
		return 0;
	}
	for (uint32_t p = 0; p < (uint32_t)w->p.people; p++)
		if (count[p] >= lo && count[p] <= hi)
			cand[nc++] = p;
	for (; got < n && got < nc; got++) {
		size_t j = got + (size_t)below(&x, nc - got);
		uint32_t t = cand[got];

		cand[got] = cand[j];
		cand[j] = t;
		out[got] = cand[got];
		visits[got] = count[cand[got]];
	}
	free(cand);
	free(count);
	return got;
}
