#!/usr/bin/env bash
# Version 2 passes do not link a visitor's visits.
#
#  1. Across 50 passes of one wallet, no 8-byte window of one pass's bytes
#     (the whole 190-byte pass, its token included) appears in another
#     pass.
#  2. The visitor checks in at two venues (two real gateways on a real
#     mosquitto).  The visitor's identifiers are every 8-byte window of
#     every pass the wallet made, of its holder key, holder id, credential
#     id and pid.  No such window is found both in what venue east holds
#     or sends (its journal file, raw, and every batch it published) and in
#     what venue west does; each venue's own visit is found in its own
#     bytes (a positive control: the search does see the token id).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
TOOL="$ANSHIM_BUILD_DIR/tests/token_tool"

start_broker
cloud_init
anshim-cloud keys init --dir "$WORK/issuer" >/dev/null
anshim-cloud policy set --config "$CLOUD_CONF" --level 3 --no-publish \
  --issuer-key "$WORK/issuer/sign.pub" >/dev/null
sgw_init east
sgw_init west
msub_start "$WORK/published" anshim/v1/probe 'anshim/v1/gw/+/batch'
sgw_start east
sgw_start west

# A wallet with a credential (its v1 identity) and 60 tokens.
anshim-wallet new --dir "$WORK/w" >/dev/null
anshim-cloud issue --at $(( $(date +%s) - 86400 )) --keys "$SYNC_AUTH" --holder "$WORK/w/holder.pub" \
  --phone 010-8400-0001 --name "Unlinkable Visitor" --out "$WORK/w/credential" >/dev/null
"$TOOL" "$WORK/issuer/sign.key" "$WORK/w" 60 > "$WORK/token.ids"

# 1. Fifty passes.
for i in $(seq 1 50); do
  anshim-wallet pass --dir "$WORK/w" --format text 2>/dev/null >> "$WORK/passes.txt"
done
# 2. Two visits, one at each venue.
V_EAST=$(anshim-wallet pass --dir "$WORK/w" --format text 2>/dev/null)
V_WEST=$(anshim-wallet pass --dir "$WORK/w" --format text 2>/dev/null)
printf '%s\n%s\n' "$V_EAST" "$V_WEST" >> "$WORK/passes.txt"
sgw_use east
expect_eq "visit at east" accepted "$(gw_scan "$GW_SCAN" "$V_EAST")"
sgw_use west
expect_eq "visit at west" accepted "$(gw_scan "$GW_SCAN" "$V_WEST")"
# A batch of gateway ID was published (re-read on every poll).
batch_from() { grep -q "^anshim/v1/gw/$1/batch " "$WORK/published"; }
wait_for 30 "a batch from east" batch_from "${SGW_ID[east]}"
wait_for 30 "a batch from west" batch_from "${SGW_ID[west]}"
msub_stop
sgw_stop east
sgw_stop west

anshim-wallet id --dir "$WORK/w" > "$WORK/holder_id"
check
python3 - "$WORK/passes.txt" "$WORK/w" "$WORK/published" "${SGW_ID[east]}" "${SGW_ID[west]}" \
  "$(sgw_dir east)/state/journal/data.mdb" "$(sgw_dir west)/state/journal/data.mdb" \
  "$WORK/holder_id" <<'PY' || fail "the visitor's passes or visits are linkable (see above)"
import sys
passes_path, wallet, published, east_id, west_id, east_mdb, west_mdb, hid_path = sys.argv[1:]
A = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
def b45(s):
    out = bytearray()
    for i in range(0, len(s), 3):
        c = [A.index(ch) for ch in s[i:i + 3]]
        if len(c) == 3:
            out += (c[0] + c[1] * 45 + c[2] * 2025).to_bytes(2, "big")
        else:
            out.append(c[0] + c[1] * 45)
    return bytes(out)
def windows(b, n=8):
    return {b[i:i + n] for i in range(len(b) - n + 1)}

texts = [l.strip() for l in open(passes_path) if l.strip()]
assert len(texts) == 52, f"{len(texts)} passes"
passes = [b45(t[4:]) for t in texts]
assert all(len(p) == 190 and p[:2] == b"P\x02" for p in passes)
bad = 0
# 1. Fifty passes: no shared 8-byte window between any two.
win = [windows(p) for p in passes[:50]]
for i in range(50):
    for j in range(i + 1, 50):
        common = win[i] & win[j]
        if common:
            bad += 1
            print(f"passes {i} and {j} share {len(common)} 8-byte windows, e.g. {min(common).hex()}")
print(f"50 passes: {sum(len(w) for w in win)} windows, none shared" if not bad else "")

# 2. The visitor's identifiers.
visitor = set()
for p in passes:
    visitor |= windows(p)
def keyfile_hex(path):
    return bytes.fromhex(open(path).read().split("\n")[1])
holder_pk = keyfile_hex(wallet + "/holder.pub")
cred = open(wallet + "/credential", "rb").read()
visitor |= windows(holder_pk) | windows(cred) | windows(bytes.fromhex(open(hid_path).read().strip()))
# The credential's pid (bytes 3..18) and its id are in it.
visitor |= windows(cred[3:19])

def venue_bytes(gw_id, mdb):
    seen = set(windows(open(mdb, "rb").read()))
    n = 0
    for line in open(published):
        topic, _, hexdata = line.strip().partition(" ")
        if topic == f"anshim/v1/gw/{gw_id}/batch":
            seen |= windows(bytes.fromhex(hexdata))
            n += 1
    assert n >= 1, f"no batch of {gw_id}"
    return seen
east = venue_bytes(east_id, east_mdb)
west = venue_bytes(west_id, west_mdb)
# Positive control: each venue holds its own visit's token id.
tid_east, tid_west = passes[50][6:22], passes[51][6:22]
for name, held, tid in (("east", east, tid_east), ("west", west, tid_west)):
    if tid[:8] not in held:
        bad += 1
        print(f"control failed: venue {name} does not hold its visit's token id")
linked = east & west & visitor
if linked:
    bad += 1
    print(f"venues east and west share {len(linked)} 8-byte windows of the visitor's identifiers, "
          f"e.g. {min(linked).hex()}")
else:
    print(f"venues: {len(east & visitor)} and {len(west & visitor)} windows of the visitor's bytes, "
          "none in common")
sys.exit(1 if bad else 0)
PY
done_ok
