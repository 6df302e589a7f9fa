# zk: a ZooKeeper-compatible coordination service as small Unix tools.
#
#   make		build every program into cmd/
#   make run		install missing build packages, build, run a standalone
#			node on 127.0.0.1:2181 (ZK_NODE_PORT), data in var/data
#			(ZK_NODE_DATADIR)
#   make ensemble	the same for a three-node ensemble on loopback
#			(127.0.0.1:2181-2183, data in var/ensemble)
#   make check		install missing test dependencies, build (plain and
#			ASan/UBSan), run every test
#
# B is the build root: objects and programs go to $(B)/libzk and $(B)/cmd.
# A program zk-X is either one file, cmd/zk-X.c, or every cmd/X/*.c (with
# its private headers cmd/X/*.h), whose objects go to $(B)/cmd/X/.

CC	?= cc
CFLAGS	?= -O2 -g
B	?= .
ZKCFLAGS = -std=c11 -D_GNU_SOURCE -DLIBBSD_OVERLAY -isystem /usr/include/bsd -Wall -Wextra -Werror -Ilibzk $(CFLAGS)
LDLIBS	= -lmd -lbsd -lzstd	# libmd first: libbsd has deprecated MD5 wrappers
# ZK_DIGESTCHECK: zk-tree walks the tree at every digest asked and stops
# if the sum it keeps as txns apply differs (cmd/tree/tree.c)
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined -DZK_DIGESTCHECK

NAMES	= zk-gate zk-tree zk-sessiond zk-log zk-cli zk-snap zk-elect
PROGS	= $(NAMES:%=$(B)/cmd/%)
LIBSRC	= libzk/buf.c libzk/jute.c libzk/line.c libzk/cfg.c libzk/member.c libzk/loop.c \
	  libzk/util.c libzk/digest.c libzk/req.c libzk/client.c \
	  libzk/snap.c libzk/sasl.c libzk/shm.c libzk/elect.c libzk/seg.c \
	  libzk/zab.c libzk/epochs.c
LIBOBJ	= $(LIBSRC:%.c=$(B)/%.o)
LIB	= $(B)/libzk/libzk.a

TESTPROGS = $(B)/t/libzk-test $(B)/t/sim-elect $(B)/t/sim-zab

all: $(PROGS) $(B)/cmd/zk-node

$(B)/libzk/%.o: libzk/%.c libzk/zk.h
	@mkdir -p $(@D)
	$(CC) $(ZKCFLAGS) -c -o $@ $<

$(LIB): $(LIBOBJ)
	rm -f $@
	$(AR) rcs $@ $(LIBOBJ)

$(B)/cmd/zk-%: cmd/zk-%.c $(LIB) libzk/zk.h
	@mkdir -p $(@D)
	$(CC) $(ZKCFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# Programs of a directory: cmd/X/ makes $(B)/cmd/zk-X.
PROGDIRS = $(patsubst cmd/%/,%,$(sort $(dir $(wildcard cmd/*/*.c))))

define progdir
$(B)/cmd/zk-$(1): $(patsubst %.c,$(B)/%.o,$(wildcard cmd/$(1)/*.c)) $(LIB)
	@mkdir -p $$(@D)
	$$(CC) $$(ZKCFLAGS) -o $$@ $$(filter %.o,$$^) $(LIB) $$(LDLIBS)

$(B)/cmd/$(1)/%.o: cmd/$(1)/%.c $(wildcard cmd/$(1)/*.h) libzk/zk.h
	@mkdir -p $$(@D)
	$$(CC) $$(ZKCFLAGS) -c -o $$@ $$<
endef
$(foreach d,$(PROGDIRS),$(eval $(call progdir,$(d))))

$(B)/cmd/zk-cli: LDLIBS += -ledit

# Test drivers (t/*.c): not installed, built next to the programs.
$(B)/t/%: t/%.c $(LIB) libzk/zk.h
	@mkdir -p $(@D)
	$(CC) $(ZKCFLAGS) -o $@ $< $(LIB) $(LDLIBS)

testprogs: $(TESTPROGS)

ifneq ($(B),.)
$(B)/cmd/zk-node: cmd/zk-node
	@mkdir -p $(@D)
	cp cmd/zk-node $@
endif

# The sanitizer build that the tests run against.
san:
	$(MAKE) B=build/san CFLAGS="$(SANFLAGS)" all testprogs

# libFuzzer targets over the libzk sources (clang only), in build/fuzz.
FUZZCC	= clang
FUZZFLAGS = -std=c11 -D_GNU_SOURCE -DLIBBSD_OVERLAY -isystem /usr/include/bsd \
	    -Wall -Wextra -Werror -Ilibzk -O1 -g -fno-omit-frame-pointer \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZERS	= build/fuzz/fuzz-req build/fuzz/fuzz-line build/fuzz/fuzz-sasl \
	  build/fuzz/fuzz-seg build/fuzz/fuzz-vote \
	  build/fuzz/fuzz-zab build/fuzz/fuzz-zabwire build/fuzz/fuzz-member

fuzz: $(FUZZERS)

build/fuzz/fuzz-%: t/fuzz/fuzz-%.c t/fuzz/fuzz.h $(LIBSRC) libzk/zk.h
	@mkdir -p $(@D)
	$(FUZZCC) $(FUZZFLAGS) -o $@ $< $(LIBSRC) $(LDLIBS)

# The benchmark against Apache ZooKeeper (contrib/bench; needs
# libzookeeper-mt-dev and zookeeper): one server against one in
# contrib/bench/RESULTS.md, three-node ensembles in ENSEMBLE.md.
# zk-null, the do-nothing server the client's floor is measured on, needs
# only libc: the same flags without libbsd's overlay.
BENCH	= $(B)/contrib/bench/zk-bench
NULLSRV	= $(B)/contrib/bench/zk-null

$(BENCH): contrib/bench/zk-bench.c contrib/bench/wire.h
	@mkdir -p $(@D)
	$(CC) $(ZKCFLAGS) -pthread -o $@ $< -lzookeeper_mt -lbsd -pthread

$(NULLSRV): contrib/bench/zk-null.c contrib/bench/wire.h
	@mkdir -p $(@D)
	$(CC) $(filter-out -DLIBBSD_OVERLAY -isystem /usr/include/bsd,$(ZKCFLAGS)) -o $@ $<

bench: all $(BENCH) $(NULLSRV)
	/usr/bin/python3 contrib/bench/compare.py --bin $(B)/cmd --bench $(BENCH) \
	    --null $(NULLSRV)
	/usr/bin/python3 contrib/bench/ensemble.py --bin $(B)/cmd --bench $(BENCH)

deps:
	sh t/deps.sh

# only the build's packages, then the build: on a fresh machine too
builddeps:
	sh t/deps.sh build

run: builddeps
	$(MAKE) all
	cmd/zk-node

# A three-node ensemble on loopback in the foreground (contrib/zk-ensemble):
# clients on 127.0.0.1:2181, 2182 and 2183, data in var/ensemble.
ensemble: builddeps
	$(MAKE) all
	contrib/zk-ensemble

check: deps all san
	sh t/check.sh

# The seeded simulations of the consensus state machines, longer than
# make check runs them (t/sim.bats): SEEDS seeds per configuration.
SEEDS	?= 200000
ZABSEEDS ?= 50000
sim: testprogs
	for c in "-n 3" "-n 3 -o 1" "-n 5" "-n 5 -o 2" "-n 7"; do \
		$(B)/t/sim-elect $$c -s 1 -c $(SEEDS) || exit 1; done
	for c in "-n 3" "-n 3 -o 1" "-n 5" "-n 5 -o 2"; do \
		$(B)/t/sim-zab $$c -s 1 -c $(ZABSEEDS) || exit 1; done

lint:
	set -- man/*.[178]; [ ! -e "$$1" ] || mandoc -Tlint -W warning "$$@"
	for f in t/*.sh t/kazoo/run.sh cmd/zk-node contrib/zk-ensemble; do \
		[ ! -e "$$f" ] || sh -n "$$f" || exit 1; done
	bash -n .ci/run

clean:
	rm -rf build t/libzk-test libzk/*.o libzk/libzk.a $(NAMES:%=cmd/%) \
	    $(PROGDIRS:%=cmd/%/*.o) \
	    contrib/bench/zk-bench contrib/bench/zk-null

.PHONY: all san sim fuzz testprogs deps builddeps run ensemble check lint clean bench
