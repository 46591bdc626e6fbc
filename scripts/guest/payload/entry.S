/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Reset vector of the inner VM's firmware (scripts/guest/payload): the CPU
 * starts in real mode at 0xfffffff0 with CS based at 0xffff0000. Switch to
 * flat 32-bit protected mode, set a stack in RAM and call payload_main().
 */
	.set	STACK_TOP, 0x00090000

	.section .text.start16, "ax"
	.code16
start16:
	cli
	cld
	/* CS is based at 0xffff0000, where start16 sits (payload.ld). */
	lgdtl	%cs:(gdt_desc - start16)
	movl	%cr0, %eax
	orl	$1, %eax
	movl	%eax, %cr0
	ljmpl	$0x08, $start32

	.code32
start32:
	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	movl	$STACK_TOP, %esp
	call	payload_main
1:	hlt
	jmp	1b

	.balign	8
gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: code, base 0, 4 GiB, 32-bit */
	.quad	0x00cf92000000ffff	/* 0x10: data, base 0, 4 GiB */
gdt_desc:
	.word	gdt_desc - gdt - 1
	.long	gdt

	.section .resetvec, "ax"
	.globl	reset
	.code16
reset:
	jmp	start16
