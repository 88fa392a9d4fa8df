-- functions/060_audit_verify.sql
-- What: audit.verify_chain(chain_id default all) re-walks each hash chain of audit.log in sequence
-- order and reports, per chain, whether it is intact and where it first breaks:
--   * an entry whose stored content no longer hashes to its row_hash   -> modified
--   * an entry whose prev_hash is not the previous entry's row_hash    -> reordered / re-chained
--   * a jump in chain_seq                                              -> entries deleted (or inserted)
--   * a head (audit.chain_heads) ahead of the last entry               -> newest entries deleted
--   * log entries of a chain without a head                            -> head deleted
-- A chain whose oldest entries were dropped by retention (whole partitions older than the retention
-- period) starts at chain_seq > 1: its first remaining prev_hash is accepted as the anchor and
-- first_seq says so. Tampering by a superuser who rewrites a chain AND its head consistently is only
-- detectable against an external copy of the heads (export audit.chain_heads to the audit-export
-- bucket with object lock).
-- SECURITY INVOKER: auditors run it with their own read access to schema audit.

create or replace function audit.verify_chain(p_chain_id text default null)
returns table (
  chain_id      text,
  entries       bigint,
  first_seq     bigint,
  last_seq      bigint,
  valid         boolean,
  broken_at_seq bigint,
  problem       text)
language plpgsql
stable
set search_path = ''
as $fn$
#variable_conflict use_column
declare
  v_genesis constant bytea := decode(repeat('00', 32), 'hex');
  v_head    record;
  r         audit.log;
  v_count   bigint;
  v_first   bigint;
  v_seq     bigint;
  v_hash    bytea;
  v_problem text;
  v_broken  bigint;
begin
  for v_head in
    select h.chain_id, h.last_seq, h.last_hash
      from audit.chain_heads h
     where p_chain_id is null or h.chain_id = p_chain_id
     order by h.chain_id
  loop
    v_count := 0; v_first := null; v_seq := null; v_hash := null; v_problem := null; v_broken := null;
    for r in
      select l.* from audit.log l where l.chain_id = v_head.chain_id order by l.chain_seq, l.occurred_at
    loop
      v_count := v_count + 1;
      if v_first is null then
        v_first := r.chain_seq;
        if r.chain_seq = 1 and r.prev_hash <> v_genesis then
          v_problem := 'the first entry does not start from the genesis hash';
        end if;
      elsif r.chain_seq <> v_seq + 1 then
        v_problem := format('expected entry %s after %s, found %s (entries deleted or inserted)', v_seq + 1, v_seq, r.chain_seq);
      elsif r.prev_hash <> v_hash then
        v_problem := 'prev_hash does not match the previous entry (chain re-linked)';
      end if;
      if v_problem is null and audit.entry_hash(r.prev_hash, r) <> r.row_hash then
        v_problem := 'the entry''s content does not match its hash (modified)';
      end if;
      if v_problem is not null then
        v_broken := r.chain_seq;
        exit;
      end if;
      v_seq := r.chain_seq;
      v_hash := r.row_hash;
    end loop;

    if v_problem is null then
      if v_count = 0 and v_head.last_seq > 0 then
        v_problem := format('the head is at entry %s but no entry was found (entries deleted)', v_head.last_seq);
        v_broken := 1;
      elsif v_count > 0 and (v_seq <> v_head.last_seq or v_hash <> v_head.last_hash) then
        v_problem := format('the head is at entry %s but the last entry found is %s (newest entries deleted or head altered)', v_head.last_seq, v_seq);
        v_broken := v_seq + 1;
      end if;
    end if;
    return query select v_head.chain_id, v_count, v_first, v_seq, v_problem is null, v_broken, v_problem;
  end loop;

  -- Entries of chains that have no head at all.
  return query
    select l.chain_id, count(*), min(l.chain_seq), max(l.chain_seq), false, min(l.chain_seq),
           'entries exist but the chain head is missing (head deleted)'::text
      from audit.log l
     where (p_chain_id is null or l.chain_id = p_chain_id)
       and not exists (select from audit.chain_heads h where h.chain_id = l.chain_id)
     group by l.chain_id;
end
$fn$;

comment on function audit.verify_chain(text) is
  'Verifies the audit hash chains (all, or one): per chain the number of entries, first/last sequence, whether it is intact, and where and why it first breaks.';
