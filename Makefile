# SPDX-License-Identifier: GPL-2.0
# Developer shortcuts; each target is one script under scripts/.
# The README's two commands (scripts/demo.sh, scripts/test.sh) need no make.

.PHONY: demo test deps tree config build initramfs boot host-test series clean-cache

demo:
	scripts/demo.sh
test:
	scripts/test.sh
deps:
	scripts/deps.sh
tree:
	scripts/tree.sh
config: tree
	scripts/config.sh
build: config
	scripts/build.sh
initramfs: build
	scripts/initramfs.sh
boot: initramfs
	scripts/boot.sh mock kunit
series:
	scripts/series.sh
host-test:
	python3 -m unittest discover -s scripts/tests -v
clean-cache:
	rm -rf "$${DMABUF_IC_CACHE:-$${XDG_CACHE_HOME:-$$HOME/.cache}/dmabuf-interconnect}"
