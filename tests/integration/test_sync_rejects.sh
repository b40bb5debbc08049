#!/usr/bin/env bash
# What the cloud refuses, and that refusing does not hurt anyone else.
#
# A real batch of gateway A is captured off the broker (mosquitto_sub, as
# hex) and then altered and republished with mosquitto_pub -f; other
# gateways are run for real.  Each case must be counted under its reason in
# 'anshim-cloud stats --json' (exactly once where only the test publishes
# it; at least once where a real gateway keeps resending), store nothing,
# and leave anshim-cloudd running: after each, a fresh scan at A still
# arrives (visits + 1, A delivered through its last seq).
#   bad-signature    A's batch with one signature byte flipped, on A's topic
#   replay           A's batch again, unchanged: no reject, nothing stored
#                    (visits, records, through_seq unchanged), acknowledged
#                    with A's current through_seq (A counts one more ack and
#                    does not resend)
#   unknown-gateway  a second, real gateway that was never enrolled
#   revoked          a third, real gateway, enrolled (its first record is
#                    stored), then 'anshim-cloud revoke'd: its next batches
#   malformed        A's batch cut inside its header
#   malformed        A's batch cut in the middle of its records (framing is
#                    checked before the signature; once a bug, TRUNCATED-REASON)
#   topic-mismatch   A's batch on another gateway's topic
#   oversize         10 MiB of random bytes on a batch topic
# At the end A's records are all in the cloud exactly once.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"

phase "setup"
start_broker
cloud_init
sgw_init A
sgw_init U
sgw_init R
sgw_enroll A 1
sgw_enroll R 2
cloud_start
sgw_start A
ID=${SGW_ID[A]}
TOPIC_A=anshim/v1/gw/$ID/batch

sgw_use A
gw_wallet "$WORK/w" 010-7777-0001 "Legit Visitor"

# legit_scan_arrives WHAT: one fresh pass at A is accepted and stored.
legit_scan_arrives() {
  local visits
  check
  cloud_alive || fail "$1: anshim-cloudd is not running"
  visits=$(cloud_field visits)
  expect_eq "$1: a legitimate scan at A" accepted "$(gw_scan "$(sgw_dir A)/scan.sock" "$(gw_pass "$WORK/w")")"
  wait_delivered 30 A
  expect_eq "$1: the legitimate scan is stored" $((visits + 1)) "$(cloud_field visits)"
}

# reject_count_above REASON N
reject_count_above() { [ "$(cloud_reject "$1")" -gt "$2" ]; }

# publish_expect_reject WHAT REASON FILE TOPIC: publish FILE on TOPIC and
# wait until REASON is counted exactly once more; nothing else changes.
publish_expect_reject() {
  local what=$1 reason=$2 file=$3 topic=$4 before total visits
  before=$(cloud_reject "$reason")
  total=$(cloud_field rejects_total)
  visits=$(cloud_field visits)
  mpub -q 1 -t "$topic" -f "$file"
  wait_for 30 "$what to be counted as $reason" reject_count_above "$reason" "$before"
  expect_eq "$what: counted once as $reason" $((before + 1)) "$(cloud_reject "$reason")"
  expect_eq "$what: no other reject counted" $((total + 1)) "$(cloud_field rejects_total)"
  expect_eq "$what: nothing stored" "$visits" "$(cloud_field visits)"
  legit_scan_arrives "after $what"
}

# --- capture real batches of A ---
phase "capturing A's batches"
msub_start "$WORK/batches.txt" anshim/test/probe "$TOPIC_A"
p=$(gw_pass "$WORK/w")
expect_eq "three scans at A" "accepted accepted accepted" \
  "$(gw_scan "$(sgw_dir A)/scan.sock" "$p" "$p" "$p" | tr '\n' ' ' | sed 's/ $//')"
wait_delivered 30 A
msub_stop
python3 - "$WORK/batches.txt" "$TOPIC_A" "$WORK" <<'PY'
import sys
path, topic, work = sys.argv[1:]
frames = [bytes.fromhex(l.split()[1]) for l in open(path) if l.split()[0] == topic]
assert frames, "no batch captured"
b = frames[0]
open(f"{work}/batch.bin", "wb").write(b)
forged = bytearray(b)
forged[-10] ^= 0x01                      # inside the Ed25519 signature
open(f"{work}/forged.bin", "wb").write(forged)
open(f"{work}/cut-header.bin", "wb").write(b[:20])     # header is 54 bytes
open(f"{work}/cut-records.bin", "wb").write(b[:(len(b) - 64) // 2 + 27])
print(f"  captured {len(frames)} batches; using one of {len(b)} bytes")
PY
expect_eq "A's journal so far" 3 "$(sgw_field A last_seq)"
legit_scan_arrives "capture"

# --- forged ---
phase "forged signature"
publish_expect_reject "forged batch" bad-signature "$WORK/forged.bin" "$TOPIC_A"

# --- replay ---
phase "replayed batch"
acks=$(sgw_field A acks)
resends=$(sgw_field A resends)
read -r visits through records batches < <(cloud_q \
  "'%d %d %d %d' % (s['visits'], g['$ID']['through_seq'], g['$ID']['records'], g['$ID']['batches'])")
total=$(cloud_field rejects_total)
mpub -q 1 -t "$TOPIC_A" -f "$WORK/batch.bin"
acks_above() { [ "$(sgw_field A acks)" -gt "$1" ]; }
wait_for 30 "the replay to be acknowledged to A" acks_above "$acks"
expect_eq "replay: visits, through_seq, records, batches unchanged" "$visits $through $records $batches" \
  "$(cloud_q "'%d %d %d %d' % (s['visits'], g['$ID']['through_seq'], g['$ID']['records'], g['$ID']['batches'])")"
expect_eq "replay: not a reject" "$total" "$(cloud_field rejects_total)"
expect_eq "replay: A's acked_seq unchanged" "$through" "$(sgw_field A acked_seq)"
expect_eq "replay: A did not resend" "$resends" "$(sgw_field A resends)"
legit_scan_arrives "after the replay"

# --- unknown gateway ---
phase "unknown gateway"
sgw_start U
sgw_use U
before=$(cloud_reject unknown-gateway)
expect_eq "scan at the unknown gateway" accepted "$(gw_scan "$(sgw_dir U)/scan.sock" "$(gw_pass "$WORK/w")")"
wait_for 30 "the unknown gateway's batch to be refused" reject_count_above unknown-gateway "$before"
expect_eq "unknown gateway: nothing acknowledged (acked_seq, unsent)" '[0, 1]' \
  "$(sgw_q U "s['acked_seq'], s['unsent']")"
sgw_stop U
expect_eq "unknown gateway: not in the registry" false "$(cloud_q "'${SGW_ID[U]}' in g")"
legit_scan_arrives "after the unknown gateway"

# --- revoked gateway ---
phase "revoked gateway"
sgw_start R
expect_eq "scan at R before revocation" accepted "$(gw_scan "$(sgw_dir R)/scan.sock" "$(gw_pass "$WORK/w")")"
wait_delivered 30 R
anshim-cloud revoke --config "$CLOUD_CONF" --gateway "${SGW_ID[R]}" > /dev/null
expect_eq "R is revoked" true "$(cloud_gw_field "${SGW_ID[R]}" revoked)"
before=$(cloud_reject revoked)
visits=$(cloud_field visits)
expect_eq "scan at R after revocation" accepted "$(gw_scan "$(sgw_dir R)/scan.sock" "$(gw_pass "$WORK/w")")"
wait_for 30 "the revoked gateway's batch to be refused" reject_count_above revoked "$before"
expect_eq "revoked: R stays at through_seq 1, 1 record" "1 1" \
  "$(cloud_q "'%d %d' % (g['${SGW_ID[R]}']['through_seq'], g['${SGW_ID[R]}']['records'])")"
expect_eq "revoked: R's acked_seq stays 1" 1 "$(sgw_field R acked_seq)"
expect_eq "revoked: nothing stored" "$visits" "$(cloud_field visits)"
sgw_stop R
legit_scan_arrives "after the revoked gateway"

# --- truncated frames ---
phase "truncated frames"
publish_expect_reject "batch cut inside its header" malformed "$WORK/cut-header.bin" "$TOPIC_A"
before_m=$(cloud_reject malformed)
before_s=$(cloud_reject bad-signature)
mpub -q 1 -t "$TOPIC_A" -f "$WORK/cut-records.bin"
malformed_or_bad_signature_above() {
  [ $(( $(cloud_reject malformed) + $(cloud_reject bad-signature) )) -gt "$1" ]
}
wait_for 30 "the cut batch to be refused" malformed_or_bad_signature_above $((before_m + before_s))
expect_eq "a batch cut in the middle of its records is counted as" malformed \
  "$( [ "$(cloud_reject malformed)" -gt "$before_m" ] && echo malformed || echo bad-signature)"
legit_scan_arrives "after the cut batch"

# --- topic mismatch ---
phase "topic mismatch"
publish_expect_reject "A's batch on R's topic" topic-mismatch "$WORK/batch.bin" \
  "anshim/v1/gw/${SGW_ID[R]}/batch"

# --- oversize ---
phase "oversize"
head -c 10485760 /dev/urandom > "$WORK/garbage.bin"
publish_expect_reject "10 MiB of garbage" oversize "$WORK/garbage.bin" \
  "anshim/v1/gw/0123456789abcdef0123456789abcdef/batch"
rm -f "$WORK/garbage.bin"

phase "final checks"
# R's one stored record counts in the cloud's visits too.
SYNC_OTHER_VISITS=1 expect_exactly_once A
sync_stop_all
done_ok
