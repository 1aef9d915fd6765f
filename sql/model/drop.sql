-- DROP MODEL for plain SQL clients (the Python shim calls this too).
-- Only the owner, a member of the owning role, or a superuser may drop (openGauss effectively lets
-- only sysadmins). Deleting the row also drops the model's prediction function (trigger) and its
-- training log (foreign key cascade).

CREATE OR REPLACE FUNCTION db4ai.drop_model(p_model text, p_if_exists boolean DEFAULT false) RETURNS void
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_owner oid;
BEGIN
    PERFORM db4ai_internal._check_model_name(p_model);
    SELECT modelowner INTO v_owner FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN
        IF p_if_exists THEN
            RAISE NOTICE 'model "%" does not exist, skipping', p_model;
            RETURN;
        END IF;
        RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
    END IF;
    IF NOT db4ai_internal._is_model_owner(v_owner) THEN
        RAISE EXCEPTION 'must be owner of model %', p_model
            USING ERRCODE = 'insufficient_privilege',
                  HINT = 'Only the role that created the model, its members, or a superuser may drop it.';
    END IF;
    DELETE FROM db4ai.gs_model_warehouse WHERE modelname = p_model::name;
    IF NOT FOUND THEN  -- dropped concurrently since we looked
        IF NOT p_if_exists THEN
            RAISE EXCEPTION 'model "%" does not exist', p_model USING ERRCODE = 'undefined_object';
        END IF;
    END IF;
END
$$;
COMMENT ON FUNCTION db4ai.drop_model(text, boolean) IS 'db4ai: DROP MODEL [IF EXISTS]';
