"""Model calls charged as they are: what a batch charges, and the budgets its requests see."""

from agentdeck.policy_checker import core

from ._support import model_call, refund


def test_each_model_call_that_cost_something_is_charged_once_to_its_tenant_and_run():
    paid = model_call(250_000, tenant="acme", run_id="run-1")
    free = model_call(0, tenant="acme", run_id="run-1", turn=2)
    charges = core.charges([paid, refund(2000), free, paid])
    assert charges == [core.Charge(paid.envelope.event_id, "tenant:acme", "run-1", 250_000)]


def test_the_requests_of_a_batch_see_its_charges_in_the_budget_and_the_run_spend():
    budget = core.BudgetView(exists=True, limit_micros=1_000_000, remaining_micros=600_000)
    snapshot = core.Snapshot(
        budgets={"tenant:acme": budget, "tenant:none": core.NO_BUDGET},
        run_spend={"run-1": 100},
    )
    charges = [
        core.Charge("a", "tenant:acme", "run-1", 700_000),
        core.Charge("b", "tenant:none", "run-2", 5),
    ]
    after = core.charged(snapshot, charges)
    assert after.budgets["tenant:acme"].remaining_micros == -100_000, "past the limit"
    assert after.budgets["tenant:none"] == core.NO_BUDGET
    assert after.run_spend == {"run-1": 700_100, "run-2": 5}
    assert core.charged(snapshot, []) is snapshot
