-- functions/040_patient_phi_access.sql
-- What: the read path for a patient's field-encrypted PHI, which always leaves a trace.
--   app.read_patient_phi(patient, purpose)  SECURITY INVOKER: reads the patient row with the
--       caller's own rights (row-level security decides whether the caller may see it), writes the
--       PHI read log entry, then returns the decrypted SSN, medical history and insurance details.
--       Decryption needs the data key in phi.data_key (see 010_phi_encryption.sql).
--   app.record_phi_read(patient, fields, purpose)  SECURITY DEFINER writer of audit.phi_access_log
--       for access functions running with the caller's rights (request roles have no privilege on
--       schema audit). It only ever records the caller's own read, attributed from the claims.
-- Why: the seed kept a JSONB data_access_log array on the user/document row (unbounded row growth,
-- editable by whoever can update the row, lost with the row); reads now go to an append-only table.

create or replace function app.record_phi_read(p_patient_id uuid, p_fields text[], p_purpose text)
returns uuid
language plpgsql
volatile
security definer
set search_path = ''
as $fn$
declare
  v_org uuid;
begin
  select p.organization_id into v_org from app.patients p where p.id = p_patient_id;
  if v_org is null then
    raise exception 'patient % not found', p_patient_id using errcode = 'no_data_found';
  end if;
  return audit.record_phi_access(v_org, p_patient_id, 'app.patients'::regclass, p_fields, p_purpose);
end
$fn$;

comment on function app.record_phi_read(uuid, text[], text) is
  'Appends an audit.phi_access_log entry for a read of the patient''s PHI by the current caller (actor, role, session, hashed IP from the request).';

create or replace function app.read_patient_phi(p_patient_id uuid, p_purpose text)
returns table (patient_id uuid, ssn text, medical_history text, insurance_details jsonb)
language plpgsql
volatile
set search_path = ''
as $fn$
declare
  v_ssn       bytea;
  v_history   bytea;
  v_insurance bytea;
begin
  select p.ssn_encrypted, p.medical_history_encrypted, p.insurance_details_encrypted
    into v_ssn, v_history, v_insurance
    from app.patients p
   where p.id = p_patient_id;
  if not found then
    return;  -- not visible to this caller: nothing is read, nothing is logged
  end if;
  perform app.record_phi_read(p_patient_id,
                              array['ssn_encrypted', 'medical_history_encrypted', 'insurance_details_encrypted'],
                              p_purpose);
  return query select p_patient_id, app.decrypt_phi(v_ssn), app.decrypt_phi(v_history), app.decrypt_phi(v_insurance)::jsonb;
end
$fn$;

comment on function app.read_patient_phi(uuid, text) is
  'Decrypted SSN, medical history and insurance details of a patient the caller can see, after logging the read (purpose: treatment, payment, operations, patient_request, research, legal, emergency, audit).';
