// SPDX-License-Identifier: GPL-2.0
/*
 * Firmware of the inner VM that scripts/guest/vmm.sh starts with QEMU 11:
 * no BIOS, no OS. It finds the passed-through devices on the PCI bus, places
 * their memory BARs, and drives edu's DMA engine into ivshmem's BAR, that is
 * peer-to-peer DMA between two assigned devices at the guest physical address
 * of the BAR, which QEMU maps into the device's IOMMU with a dma-buf. It
 * reports on the first serial port, one "payload: ..." line per step, and
 * waits for a byte on that port where the outer guest checks the kernel's
 * side. It ends QEMU through isa-debug-exit: exit status 1 when every check
 * passed, 3 when one failed.
 */
#include <stdint.h>

#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define PCI_COMMAND 0x04
#define PCI_COMMAND_MEMORY 0x2
#define PCI_COMMAND_MASTER 0x4
#define PCI_BAR0 0x10

/* edu (QEMU's educational device): registers in BAR 0. */
#define EDU_ID 0x00
#define EDU_DMA_SRC 0x80
#define EDU_DMA_DST 0x88
#define EDU_DMA_CNT 0x90
#define EDU_DMA_CMD 0x98
#define EDU_DMA_START 0x1
#define EDU_DMA_TO_RAM 0x2
#define EDU_BUF 0x40000		/* edu's own 4 KiB DMA buffer */

/* RAM the payload uses as the source of its DMA (below the stack). */
#define RAM_BUF 0x00100000u
/* edu moves less than its 4 KiB buffer: its range check wants end < 4 KiB. */
#define CHUNK 2048u
/* The three patterns go to three pages of the BAR. */
#define STRIDE 4096u
/*
 * Where memory BARs go: in the PCI hole of QEMU's "pc" machine (above its
 * 32 MiB of RAM), and below 256 MiB, which edu's DMA reaches by default.
 */
#define MMIO_BASE 0x08000000u

static inline void outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t mmio_read(uint32_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write(uint32_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

static void putc(char c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, c);
}

static void puts(const char *s)
{
	while (*s)
		putc(*s++);
}

static void puthex(uint32_t v)
{
	int i;

	puts("0x");
	for (i = 28; i >= 0; i -= 4)
		putc("0123456789abcdef"[(v >> i) & 0xf]);
}

/* Waits for the outer guest's go-ahead: one byte on the serial port. */
static void wait_go(const char *what)
{
	puts("payload: wait ");
	puts(what);
	puts("\n");
	while (!(inb(COM1 + 5) & 0x01))
		__asm__ volatile("pause");
	(void)inb(COM1);
}

static __attribute__((noreturn)) void finish(int failed)
{
	puts(failed ? "payload: done failed\n" : "payload: done\n");
	outb(DEBUG_EXIT, failed ? 1 : 0);
	for (;;)
		__asm__ volatile("cli; hlt");
}

static uint32_t cfg_addr(uint32_t dev, uint32_t reg)
{
	return 0x80000000u | (dev << 11) | (reg & 0xfc);
}

static uint32_t cfg_read(uint32_t dev, uint32_t reg)
{
	outl(PCI_ADDR, cfg_addr(dev, reg));
	return inl(PCI_DATA);
}

static void cfg_write(uint32_t dev, uint32_t reg, uint32_t v)
{
	outl(PCI_ADDR, cfg_addr(dev, reg));
	outl(PCI_DATA, v);
}

/* Finds a device on bus 0 by vendor and device ID; -1 if absent. */
static int find(uint32_t id)
{
	uint32_t dev;

	for (dev = 0; dev < 32; dev++)
		if (cfg_read(dev, 0) == id)
			return dev;
	return -1;
}

/*
 * Gives every memory BAR of @dev an address (naturally aligned, from
 * *next) and returns the address of BAR @want.
 */
static uint32_t place_bars(uint32_t dev, int want, uint32_t *next)
{
	uint32_t found = 0;
	int bar;

	for (bar = 0; bar < 6; bar++) {
		uint32_t reg = PCI_BAR0 + 4 * bar, orig, mask, size;
		int is64;

		orig = cfg_read(dev, reg);
		if (orig & 1)
			continue;	/* I/O space: not used */
		is64 = ((orig >> 1) & 3) == 2;
		cfg_write(dev, reg, 0xffffffffu);
		mask = cfg_read(dev, reg) & ~0xfu;
		if (!mask) {
			bar += is64;
			continue;
		}
		size = ~mask + 1;
		*next = (*next + size - 1) & ~(size - 1);
		cfg_write(dev, reg, *next);
		if (is64)
			cfg_write(dev, reg + 4, 0);
		if (bar == want)
			found = *next;
		*next += size;
		bar += is64;
	}
	return found;
}

static void enable(uint32_t dev, uint32_t bits)
{
	uint32_t v = cfg_read(dev, PCI_COMMAND) & 0xffff;

	cfg_write(dev, PCI_COMMAND, (v & ~(PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER)) | bits);
}

static void edu_dma(uint32_t edu, uint32_t src, uint32_t dst, uint32_t cmd)
{
	mmio_write(edu + EDU_DMA_SRC, src);
	mmio_write(edu + EDU_DMA_SRC + 4, 0);
	mmio_write(edu + EDU_DMA_DST, dst);
	mmio_write(edu + EDU_DMA_DST + 4, 0);
	mmio_write(edu + EDU_DMA_CNT, CHUNK);
	mmio_write(edu + EDU_DMA_CMD, cmd);
	while (mmio_read(edu + EDU_DMA_CMD) & EDU_DMA_START)
		__asm__ volatile("pause");
}

/* edu copies CHUNK bytes of @byte, from RAM_BUF, to the bus address @dst. */
static void dma_pattern(uint32_t edu, uint8_t byte, uint32_t dst)
{
	volatile uint8_t *ram = (volatile uint8_t *)RAM_BUF;
	uint32_t i;

	for (i = 0; i < CHUNK; i++)
		ram[i] = byte;
	edu_dma(edu, RAM_BUF, EDU_BUF, EDU_DMA_START);
	edu_dma(edu, EDU_BUF, dst, EDU_DMA_START | EDU_DMA_TO_RAM);
}

/* Does the memory at @addr hold CHUNK bytes of @byte? */
static int holds(uint32_t addr, uint8_t byte)
{
	volatile uint8_t *p = (volatile uint8_t *)addr;
	uint32_t i;

	for (i = 0; i < CHUNK; i++)
		if (p[i] != byte)
			return 0;
	return 1;
}

static int check(const char *what, int ok)
{
	puts("payload: ");
	puts(what);
	puts(ok ? " ok\n" : " FAILED\n");
	return !ok;
}

void payload_main(void)
{
	uint32_t next = MMIO_BASE, edu, shm, nvme_bar = 0;
	int e, s, n, failed = 0;

	puts("payload: start\n");
	e = find(0x11e81234);
	s = find(0x11101af4);
	n = find(0x00101b36);
	if (e < 0 || s < 0) {
		puts("payload: edu or ivshmem missing\n");
		finish(1);
	}
	edu = place_bars(e, 0, &next);
	shm = place_bars(s, 2, &next);
	if (n >= 0)
		nvme_bar = place_bars(n, 0, &next);
	puts("payload: bars edu=");
	puthex(edu);
	puts(" ivshmem=");
	puthex(shm);
	puts(" nvme=");
	puthex(nvme_bar);
	puts("\n");
	enable(e, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
	enable(s, PCI_COMMAND_MEMORY);
	if (n >= 0)
		enable(n, PCI_COMMAND_MEMORY);
	failed |= check("edu id", (mmio_read(edu + EDU_ID) & 0xff) == 0xed);

	/* Peer-to-peer: edu writes into ivshmem's BAR at its guest address. */
	dma_pattern(edu, 0xa1, shm);
	failed |= check("p2p", holds(shm, 0xa1));
	wait_go("mapped");

	/* Memory decoding off: the outer guest sees the buffer revoked. */
	enable(s, 0);
	wait_go("memory-off");
	dma_pattern(edu, 0xb2, shm + STRIDE);
	puts("payload: dma while off issued\n");

	/* Memory decoding on: QEMU maps the BAR again, DMA lands again. */
	enable(s, PCI_COMMAND_MEMORY);
	wait_go("memory-on");
	failed |= check("blocked", !holds(shm + STRIDE, 0xb2));
	dma_pattern(edu, 0xc3, shm + 2 * STRIDE);
	failed |= check("p2p after re-enable", holds(shm + 2 * STRIDE, 0xc3));
	finish(failed);
}
