// SPDX-License-Identifier: GPL-2.0
/*
 * A QEMU TCG plugin that counts the guest instructions executed at each
 * guest address between two gates, for scripts/bench_profile.sh.
 *
 *   -plugin insn_count.so,begin=ADDR,end=ADDR,out=FILE
 *
 * Counting starts when the guest enters the code at @begin and stops when
 * it enters the code at @end (the bench program's profile modes make two
 * system calls that nothing else in the guest makes, and the script passes
 * the addresses of their kernel handlers). At exit the plugin writes one
 * line per guest instruction executed while counting, "ADDRESS COUNT" in
 * hex and decimal, plus "gates N" with the number of times counting began.
 * Whatever ran meanwhile is counted (interrupts, kworkers), as the bench's
 * own timings count it.
 *
 * Every executed translation block calls back into the plugin, which costs
 * host time, never guest instructions: under -icount the guest runs the
 * same code as without the plugin. A block counts all its instructions
 * each time it is entered; one left early (a fault in its middle) is
 * counted whole, which the totals show to be rare: they agree with the
 * bench's own timings of the same calls.
 *
 * Only the part of QEMU's plugin API that QEMU 7.2 (API version 1) has is
 * used, declared here from its documentation.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
struct qemu_info_t;

enum qemu_plugin_cb_flags {
	QEMU_PLUGIN_CB_NO_REGS,
	QEMU_PLUGIN_CB_R_REGS,
	QEMU_PLUGIN_CB_RW_REGS,
};

typedef void (*tb_trans_cb_t)(qemu_plugin_id_t id, struct qemu_plugin_tb *tb);
typedef void (*vcpu_udata_cb_t)(unsigned int vcpu, void *udata);
typedef void (*udata_cb_t)(qemu_plugin_id_t id, void *udata);

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   tb_trans_cb_t cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  vcpu_udata_cb_t cb,
					  enum qemu_plugin_cb_flags flags,
					  void *udata);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, udata_cb_t cb,
				    void *udata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *tb,
						 size_t idx);
uint64_t qemu_plugin_insn_vaddr(const struct qemu_plugin_insn *insn);

#define EXPORT __attribute__((visibility("default")))

EXPORT int qemu_plugin_version = 1;

/* One translation of a block: how often it ran while counting. */
struct block {
	struct block *next;
	uint64_t runs;
	size_t n;
	uint64_t insn[];
};

static struct block *blocks;
static uint64_t begin_addr, end_addr, gates;
static const char *out_path;
/* The bench guest has one vCPU: no other thread reads or writes these. */
static bool counting;

static void gate_begin(unsigned int vcpu, void *udata)
{
	if (!counting)
		gates++;
	counting = true;
}

static void gate_end(unsigned int vcpu, void *udata)
{
	counting = false;
}

static void block_ran(unsigned int vcpu, void *udata)
{
	if (counting)
		((struct block *)udata)->runs++;
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	size_t n = qemu_plugin_tb_n_insns(tb);
	uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
	struct block *b = calloc(1, sizeof(*b) + n * sizeof(b->insn[0]));

	if (!b)
		abort();
	b->n = n;
	for (size_t i = 0; i < n; i++)
		b->insn[i] = qemu_plugin_insn_vaddr(qemu_plugin_tb_get_insn(tb, i));
	b->next = blocks;
	blocks = b;
	/* The gates first, so that the first block of @begin counts too. */
	if (vaddr == begin_addr)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, gate_begin,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
	if (vaddr == end_addr)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, gate_end,
						     QEMU_PLUGIN_CB_NO_REGS, NULL);
	qemu_plugin_register_vcpu_tb_exec_cb(tb, block_ran,
					     QEMU_PLUGIN_CB_NO_REGS, b);
}

static void write_counts(qemu_plugin_id_t id, void *udata)
{
	FILE *f = fopen(out_path, "w");

	if (!f) {
		perror(out_path);
		return;
	}
	fprintf(f, "gates %" PRIu64 "\n", gates);
	for (struct block *b = blocks; b; b = b->next)
		for (size_t i = 0; b->runs && i < b->n; i++)
			fprintf(f, "%" PRIx64 " %" PRIu64 "\n", b->insn[i],
				b->runs);
	fclose(f);
}

static int parse_addr(const char *arg, const char *key, uint64_t *addr)
{
	size_t len = strlen(key);
	char *end;

	if (strncmp(arg, key, len) || arg[len] != '=')
		return 0;
	*addr = strtoull(arg + len + 1, &end, 0);
	return *end ? -1 : 1;
}

EXPORT int qemu_plugin_install(qemu_plugin_id_t id,
			       const struct qemu_info_t *info, int argc,
			       char **argv)
{
	for (int i = 0; i < argc; i++) {
		int found = parse_addr(argv[i], "begin", &begin_addr);

		if (!found)
			found = parse_addr(argv[i], "end", &end_addr);
		if (!found && !strncmp(argv[i], "out=", 4)) {
			out_path = argv[i] + 4;
			found = 1;
		}
		if (found <= 0) {
			fprintf(stderr, "insn_count: bad argument %s\n", argv[i]);
			return -1;
		}
	}
	if (!begin_addr || !end_addr || !out_path) {
		fprintf(stderr, "insn_count: needs begin=, end= and out=\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, write_counts, NULL);
	return 0;
}
