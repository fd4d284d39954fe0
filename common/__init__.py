"""Small helpers every app may import (it imports no app): the REST API's error contract and pagination."""
