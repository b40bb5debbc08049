#!/usr/bin/env bash
# Cluster mode: every ingest node republishes the newest signed policy
# PostgreSQL keeps, never an older copy of its own.
#
# Two ingest nodes on a real PostgreSQL and a real mosquitto, each with its
# own store directory (its own STORE/policy), both starting from the same
# first policy.  Checked:
#   - 'policy set' through node A's configuration (a revoked credential,
#     level 4) keeps the signed policy in PostgreSQL (table policies) and
#     the broker retains it;
#   - node B, restarted with its older copy, republishes the newest one
#     (the broker's retained policy is byte for byte A's), and its
#     STORE/policy is replaced by it;
#   - a 'policy set' through node B's configuration builds on that one:
#     the revocation made through A is kept, the seq is higher;
#   - a newer row whose signature does not verify is never published: the
#     node logs it and republishes the newest genuine one;
#   - a node's copy newer than anything PostgreSQL keeps (issued before the
#     store kept policies) is kept in PostgreSQL when the node starts.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/broker.sh"
. "$(dirname "$0")/sync_lib.sh"
. "$(dirname "$0")/pg_lib.sh"
. "$(dirname "$0")/cluster_lib.sh"

# Each node its own store directory (cluster_lib's nodes share one).
node_own_conf() {
  mkdir -p "$WORK/store$1"
  { grep -v '^store_dir \|^client_id ' "$CLOUD_CONF"; echo "store_dir $WORK/store$1";
    echo "client_id anshim-cloudd-$1"; } > "$(node_conf "$1")"
  chmod 0640 "$(node_conf "$1")"
}
hex_of() { od -An -v -tx1 "$1" | tr -d ' \n'; }
retained_hex() { msub -t anshim/v1/policy -C 1 -W 5 -F '%x' 2>/dev/null | tr -d ' \n'; }
retained_is() { [ "$(retained_hex)" = "$1" ]; }
newest_seq() { pg_sql pg "SELECT coalesce(max(seq), 0) FROM policies"; }
newest_hex() { pg_sql pg "SELECT encode(body, 'hex') FROM policies ORDER BY seq DESC LIMIT 1"; }
# republished_seq I: the seq node I last said it republished.
republished_seq() {
  grep -o 'republished the policy (seq [0-9]*)' "$(node_log "$1")" | tail -n 1 | tr -dc '0-9'
}
# node_restart I: stop node I and start it again; wait until it has
# republished the policy in this run.
node_restart() {
  local n
  node_stop "$1"
  n=$(_log_count "$(node_log "$1")" 'republished the policy')
  node_start "$1"
  wait_for 30 "node $1 republishing the policy" \
    _log_count_above "$(node_log "$1")" 'republished the policy' "$n"
}

phase "setup: two ingest nodes holding the same first policy"
pg_start pg
URI=${PG_URI[pg]}
start_broker
cloud_init "store $URI" "audit_witness_every 0"
first=$(hex_of "$CLOUD_STORE/policy")
expect_eq "the first policy is kept in PostgreSQL" "$first" "$(newest_hex)"
for i in 1 2; do
  node_own_conf "$i"
  cp "$CLOUD_STORE/policy" "$WORK/store$i/policy"
done
node_start 1
node_start 2
wait_for 30 "the first policy retained on the broker" retained_is "$first"

phase "policy set through node A: level 4, a credential revoked"
seq1=$(newest_seq)
out=$(anshim-cloud policy set --config "$(node_conf 1)" --level 4 \
  --revoke-credential 0123456789abcdef0123456789abcdef 2>&1) || fail "policy set on A: $out"
expect_match "one revoked credential" "1 revoked credential" "$out"
second=$(hex_of "$WORK/store1/policy")
seq2=$(newest_seq)
[ "$seq2" -gt "$seq1" ] || fail "PostgreSQL's newest seq $seq2 is not above $seq1"
expect_eq "PostgreSQL keeps A's new policy, byte for byte" "$second" "$(newest_hex)"
wait_for 30 "A's policy retained on the broker" retained_is "$second"
expect_eq "node B still holds the first policy" "$first" "$(hex_of "$WORK/store2/policy")"

phase "node B restarted with its older copy republishes the newest"
node_restart 2
expect_eq "node B says it republished seq $seq2" "$seq2" "$(republished_seq 2)"
expect_eq "the retained policy is the newest" "$second" "$(retained_hex)"
expect_eq "node B's STORE/policy is the newest" "$second" "$(hex_of "$WORK/store2/policy")"

phase "policy set through node B builds on the newest"
out=$(anshim-cloud policy set --config "$(node_conf 2)" --level 3 2>&1) || fail "policy set on B: $out"
expect_match "the revocation made through A is kept" "1 revoked credential" "$out"
third=$(hex_of "$WORK/store2/policy")
seq3=$(newest_seq)
[ "$seq3" -gt "$seq2" ] || fail "PostgreSQL's newest seq $seq3 is not above $seq2"
expect_eq "PostgreSQL keeps B's new policy" "$third" "$(newest_hex)"
wait_for 30 "B's policy retained on the broker" retained_is "$third"
node_restart 1
expect_eq "node A, restarted, republishes seq $seq3" "$seq3" "$(republished_seq 1)"
expect_eq "the retained policy is still the newest" "$third" "$(retained_hex)"

phase "a newer row that does not verify is never published"
# The newest policy with one byte of its signature changed, under a higher seq.
forged=${third:0:${#third}-2}$(printf '%02x' $(( (0x${third: -2} + 1) % 256 )))
pg_sql pg "INSERT INTO policies VALUES ($seq3 + 1000, 0, decode('$forged', 'hex'))"
node_restart 2
expect_eq "node B republishes seq $seq3, not the forged row" "$seq3" "$(republished_seq 2)"
expect_match "node B says the store's newest does not verify" "does not verify" \
  "$(cat "$(node_log 2)")"
expect_eq "the retained policy is still the newest genuine one" "$third" "$(retained_hex)"
expect_eq "node B's STORE/policy is unchanged" "$third" "$(hex_of "$WORK/store2/policy")"
pg_sql pg "DELETE FROM policies WHERE seq = $seq3 + 1000"

phase "a node's copy newer than PostgreSQL's is kept there"
pg_sql pg "DELETE FROM policies WHERE seq = $seq3"
node_restart 1
expect_eq "node A republishes its own seq $seq3" "$seq3" "$(republished_seq 1)"
expect_eq "PostgreSQL keeps node A's copy again" "$third" "$(newest_hex)"
expect_eq "the retained policy is still the newest" "$third" "$(retained_hex)"

phase "stopping"
node_stop 1
node_stop 2
done_ok
