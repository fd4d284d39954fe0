"""The deal permissions the pipeline pages check."""

VIEW = "pipeline.view_deal"
CHANGE = "pipeline.change_deal"
ADD = "pipeline.add_deal"
