{#- Fails when the vectors of `model` were embedded with a model version that `compare_model`
    does not have: similarities across two model versions are meaningless. An empty side (an
    optional input that is off) has nothing to compare and passes. -#}
{% test semantic_same_model_version(model, column_name, compare_model) %}

with ours as (
    select distinct {{ column_name }} as model_version from {{ model }}
),

theirs as (
    select distinct model_version from {{ compare_model }}
),

final as (
    select ours.model_version as unmatched_model_version
    from ours
    full outer join theirs using (model_version)
    where (ours.model_version is null or theirs.model_version is null)
        and exists (select 1 from ours)
        and exists (select 1 from theirs)
)

select * from final
{% endtest %}
