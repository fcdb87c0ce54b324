# The same resources as infra/policy.yaml's AWS part (without the CloudTrail trail), the way a
# Terraform user would write them: the peer `scripts/bench` compares `recops verify` / `apply`
# with. Not used by recops itself. The trail is left out on both sides: the AWS provider starts
# logging by trail ARN, which moto 5.2.1 answers with a 500, and the provider retries for 20 min.
terraform {
  required_providers {
    aws = { source = "hashicorp/aws", version = "5.100.0" }
  }
}

variable "endpoint" { type = string }
variable "bucket" {
  type    = string
  default = "acme-call-recordings"
}

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "MOTOTESTACCESSKEY"
  secret_key                  = "bench-secret"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  endpoints {
    s3         = var.endpoint
    iam        = var.endpoint
    sts        = var.endpoint
    cloudtrail = var.endpoint
  }
}

resource "aws_s3_bucket" "recordings" {
  bucket = var.bucket
}

resource "aws_s3_bucket_ownership_controls" "recordings" {
  bucket = aws_s3_bucket.recordings.id
  rule { object_ownership = "BucketOwnerEnforced" }
}

resource "aws_s3_bucket_public_access_block" "recordings" {
  bucket                  = aws_s3_bucket.recordings.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "recordings" {
  bucket = aws_s3_bucket.recordings.id
  rule {
    apply_server_side_encryption_by_default { sse_algorithm = "AES256" }
  }
}

resource "aws_s3_bucket_versioning" "recordings" {
  bucket = aws_s3_bucket.recordings.id
  versioning_configuration { status = "Suspended" }
}

resource "aws_s3_bucket_lifecycle_configuration" "recordings" {
  bucket = aws_s3_bucket.recordings.id
  rule {
    id     = "RecordingRetention"
    status = "Enabled"
    # The spec's min_object_size (object_size_greater_than = 131072, inside an `and` with the
    # prefix) is left out, as recops's side leaves it out (moto_spec in scripts/lib/setup.sh):
    # moto 5.2.1 forgets the size filter, so neither tool could read it back.
    filter { prefix = "recordings/" }
    transition {
      days          = 90
      storage_class = "STANDARD_IA"
    }
    expiration { days = 365 }
  }
}

data "aws_iam_policy_document" "bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.recordings.arn, "${aws_s3_bucket.recordings.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
  statement {
    sid       = "DenyPublicObjectAcls"
    effect    = "Deny"
    actions   = ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl"]
    resources = ["${aws_s3_bucket.recordings.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringEquals"
      variable = "s3:x-amz-acl"
      values   = ["public-read", "public-read-write", "authenticated-read"]
    }
  }
}

resource "aws_s3_bucket_policy" "recordings" {
  bucket     = aws_s3_bucket.recordings.id
  policy     = data.aws_iam_policy_document.bucket.json
  depends_on = [aws_s3_bucket_public_access_block.recordings]
}

resource "aws_iam_user" "pipeline" {
  name = "recording-pipeline"
}

resource "aws_iam_user_policy" "pipeline" {
  name = "recording-pipeline-s3"
  user = aws_iam_user.pipeline.name
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Sid = "RecordingObjects", Effect = "Allow", Action = ["s3:PutObject", "s3:GetObject"], Resource = ["${aws_s3_bucket.recordings.arn}/recordings/*"] }]
  })
}
