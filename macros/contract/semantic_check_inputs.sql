{#- Check every input against the source contract before anything is embedded (semantic.warehouse.contract,
    through the plugin's semantic_check_inputs) and stop the build with one message naming each input,
    column, a few offending rows and the fix. Returns one report per input ({name, relation, columns,
    n_rows, fingerprint}). While dbt parses, it only names the relations, which records the refs and
    sources they use. -#}
{% macro semantic_check_inputs(names) %}
    {%- set specs = [] -%}
    {%- for name in names -%}
        {%- do specs.append({'name': name, 'relation': semantic_input(name), 'mapping': semantic_input_mapping(name)}) -%}
    {%- endfor -%}
    {%- if not execute -%}
        {{ return(specs) }}
    {%- endif -%}
    {%- set registered = run_query("select count(*) from duckdb_functions() where function_name = 'semantic_check_inputs'").columns[0].values()[0] -%}
    {%- if registered == 0 -%}
        {{ exceptions.raise_compiler_error("semantic-assets: the semantic plugin is not configured for this dbt target; add it to the output in profiles.yml:\n    plugins:\n      - module: semantic.warehouse.dbt_plugin\n(`semantic init DIR` writes a profile that has it)") }}
    {%- endif -%}
    {%- set payload = tojson(specs) | replace("'", "''") -%}
    {%- set found = fromjson(run_query("select semantic_check_inputs('" ~ payload ~ "')").columns[0].values()[0]) -%}
    {%- if found['message'] -%}
        {{ exceptions.raise_compiler_error(found['message']) }}
    {%- endif -%}
    {{ return(found['reports']) }}
{% endmacro %}
