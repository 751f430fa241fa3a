output "state_bucket" {
  description = "The Terraform state bucket (backend.hcl's bucket)."
  value       = aws_s3_bucket.state.bucket
}

output "region" {
  description = "Region of the state bucket."
  value       = var.region
}
