# zk: a ZooKeeper-compatible coordination service as small Unix tools.
#
#   make		build every program into cmd/
#   make run		a standalone node on 127.0.0.1:2181, data in var/
#   make check		install missing test dependencies, build (plain and
#			ASan/UBSan), run every test
#
# B is the build root: objects and programs go to $(B)/libzk and $(B)/cmd.

CC	?= cc
CFLAGS	?= -O2 -g
B	?= .
ZKCFLAGS = -std=c11 -D_GNU_SOURCE -DLIBBSD_OVERLAY -isystem /usr/include/bsd -Wall -Wextra -Werror -Ilibzk $(CFLAGS)
LDLIBS	= -lbsd -lmd -lzstd
SANFLAGS = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined

NAMES	= zk-gate zk-tree zk-sessiond zk-log
PROGS	= $(NAMES:%=$(B)/cmd/%)
LIBSRC	= libzk/buf.c libzk/jute.c libzk/line.c libzk/cfg.c libzk/loop.c \
	  libzk/util.c libzk/digest.c libzk/req.c
LIBOBJ	= $(LIBSRC:%.c=$(B)/%.o)
LIB	= $(B)/libzk/libzk.a

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

ifneq ($(B),.)
$(B)/cmd/zk-node: cmd/zk-node
	@mkdir -p $(@D)
	cp cmd/zk-node $@
endif

# The sanitizer build that the tests run against.
san:
	$(MAKE) B=build/san CFLAGS="$(SANFLAGS)"

deps:
	sh t/deps.sh

run: all
	cmd/zk-node

check: deps all san
	sh t/check.sh

lint:
	mandoc -Tlint -W warning man/*.[178]

clean:
	rm -rf build libzk/*.o libzk/libzk.a $(NAMES:%=cmd/%)

.PHONY: all san deps run check lint clean
